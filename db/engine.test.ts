import { describe, expect, it } from "vitest"
import { poolSizeFromEnv } from "./engine"

describe("DATABASE_POOL_SIZE", () => {
  it("defaults to 10 connections, and takes a whole number from 1 to 200", () => {
    expect(poolSizeFromEnv({})).toBe(10)
    expect(poolSizeFromEnv({ DATABASE_POOL_SIZE: " " })).toBe(10)
    expect(poolSizeFromEnv({ DATABASE_POOL_SIZE: "1" })).toBe(1)
    expect(poolSizeFromEnv({ DATABASE_POOL_SIZE: " 50 " })).toBe(50)
    expect(poolSizeFromEnv({ DATABASE_POOL_SIZE: "200" })).toBe(200)
  })

  it("refuses anything else, naming the variable", () => {
    for (const value of ["0", "201", "-5", "2.5", "1e2", "ten", "0x10"]) {
      expect(() => poolSizeFromEnv({ DATABASE_POOL_SIZE: value })).toThrow(
        `DATABASE_POOL_SIZE must be a whole number from 1 to 200 (got "${value}")`,
      )
    }
  })
})

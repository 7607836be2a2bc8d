import { describe, expect, it } from "vitest"
import { MAX_RETRY_DELAY_MS, afterFailedAttempt, retryDelayMs, sendTimeoutMs } from "./worker"

describe("outbox backoff", () => {
  it("waits base * 2^(attempt-1): 30 s, 60 s, 120 s...", () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 30_000))).toEqual([30_000, 60_000, 120_000, 240_000])
  })

  it("never waits more than an hour, even for absurd attempt numbers", () => {
    expect(retryDelayMs(8, 30_000)).toBe(MAX_RETRY_DELAY_MS)
    expect(retryDelayMs(10_000, 30_000)).toBe(MAX_RETRY_DELAY_MS)
    expect(MAX_RETRY_DELAY_MS).toBe(3_600_000)
  })

  it("keeps a failed message pending until the last attempt, then dead", () => {
    const now = new Date("2026-12-06T10:00:00.000Z")
    const settings = { maxAttempts: 3, retryBaseMs: 1000 }
    expect(afterFailedAttempt(1, now, settings)).toEqual({ status: "PENDING", nextAttemptAt: new Date("2026-12-06T10:00:01.000Z") })
    expect(afterFailedAttempt(2, now, settings)).toEqual({ status: "PENDING", nextAttemptAt: new Date("2026-12-06T10:00:02.000Z") })
    expect(afterFailedAttempt(3, now, settings)).toEqual({ status: "DEAD" })
    expect(afterFailedAttempt(1, now, { maxAttempts: 1, retryBaseMs: 1000 })).toEqual({ status: "DEAD" })
  })

  it("gives each send at most half the lease", () => {
    expect(sendTimeoutMs(60_000, 10_000)).toBe(10_000)
    expect(sendTimeoutMs(10_000, 30_000)).toBe(5_000)
  })
})

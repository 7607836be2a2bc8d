import { describe, expect, it } from "vitest"
import { DATABASE_UNREACHABLE_MESSAGE } from "./errors"
import { formatRpcError, isJsonData, rpcBodyProblem } from "./rpcRoute"

describe("isJsonData", () => {
  it("takes plain JSON data, with undefined as an absent object value", () => {
    expect(isJsonData({ a: [1, "x", null, true, { b: -0 }], c: undefined })).toBe(true)
    expect(isJsonData(null)).toBe(true)
    expect(isJsonData(undefined)).toBe(true)
  })

  // Found by the fuzz test: superjson's meta turns params into these, and zod's object() reads a Set or Map as {}.
  it("refuses what superjson can make that JSON cannot hold", () => {
    const values = [new Set([1]), new Map(), new Date(0), 1n, /x/, [1, undefined], { a: [new Set()] }, Object.create(null)]
    expect(values.map((value) => isJsonData(value))).toEqual(values.map(() => false))
  })

  it("is refused by rpcBodyProblem with a sentence", () => {
    const body = { params: [1], meta: { params: { values: ["set"] } } }
    expect(rpcBodyProblem(body)).toBe("The request parameters may hold only JSON values (no dates, maps, sets or big integers)")
    expect(rpcBodyProblem({ params: { a: 1 } })).toBeNull()
  })
})

describe("formatRpcError for a database that is down", () => {
  it("answers 503 in words, not the generic 500", () => {
    const down = Object.assign(new Error("Can't reach database server at 127.0.0.1:4150"), { code: "P1001", statusCode: 500 })
    const formatted = formatRpcError(down) as Error & { statusCode?: number }
    expect([formatted.name, formatted.statusCode, formatted.message]).toEqual([
      "DatabaseUnavailableError",
      503,
      DATABASE_UNREACHABLE_MESSAGE,
    ])
    const other = formatRpcError(Object.assign(new Error("boom"), { statusCode: 500 })) as Error & { statusCode?: number }
    expect([other.name, other.statusCode]).toEqual(["InternalServerError", 500])
  })
})

import { describe, expect, it } from "vitest"
import { REDACTED, redactSecrets } from "./redact"

describe("redactSecrets", () => {
  it("replaces password, token, secret and key fields at any depth, and keeps the rest", () => {
    const input = {
      name: "Roadmap",
      currentPassword: "old-secret-1",
      newPassword: "new-secret-2",
      nested: { apiKey: "sk_live_123", list: [{ token: "t1", label: "kept" }], clientSecret: "s" },
      password: null,
      id: 4,
    }
    expect(redactSecrets(input)).toEqual({
      name: "Roadmap",
      currentPassword: REDACTED,
      newPassword: REDACTED,
      nested: { apiKey: REDACTED, list: [{ token: REDACTED, label: "kept" }], clientSecret: REDACTED },
      password: REDACTED,
      id: 4,
    })
  })

  it("leaves values that are not objects as they are, and writes dates as ISO strings", () => {
    expect(redactSecrets("plain")).toBe("plain")
    expect(redactSecrets(undefined)).toBeUndefined()
    expect(redactSecrets({ at: new Date("2026-12-02T00:00:00Z") })).toEqual({ at: "2026-12-02T00:00:00.000Z" })
  })

  it("redacts fields named like a sensitive field (blitz.config.ts)", () => {
    expect(redactSecrets({ name: "Uma", phone: "+1 555 000 9999" })).toEqual({ name: "Uma", phone: REDACTED })
  })

  it("makes NUL and lone surrogates storable, in values and keys", () => {
    expect(redactSecrets({ name: "x\u0000", "\u0000": 1, list: ["\ud800"] })).toEqual({
      name: "x\uFFFD",
      "\uFFFD": 1,
      list: ["\uFFFD"],
    })
  })

  // Found by the fuzz test (test/integration/fuzz.test.ts): each made the audit write fail (a 500)
  // or the stored row differ from its seal.
  it("writes what the database can store and give back unchanged: undefined in a list, invalid dates, 17-digit floats", () => {
    expect(redactSecrets([1, undefined, 2])).toEqual([1, null, 2])
    expect(redactSecrets({ at: new Date(Number.NaN) })).toEqual({ at: "Invalid Date" })
    expect(redactSecrets([1.8771753504812094e-276, 0.1, 1e308, 2 ** 53 + 1, -0, 7])).toEqual([
      "1.8771753504812094e-276",
      0.1,
      1e308,
      "9007199254740992",
      -0,
      7,
    ])
    expect(redactSecrets([Number.NaN, Number.POSITIVE_INFINITY])).toEqual(["NaN", "Infinity"])
  })
})

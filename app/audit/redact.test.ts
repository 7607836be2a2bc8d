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
})

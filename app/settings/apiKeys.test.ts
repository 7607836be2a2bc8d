import crypto from "node:crypto"
import { describe, expect, it } from "vitest"
import { apiKeyLastChars, generateApiKey, hashApiKey } from "./apiKeys"

describe("personal API keys", () => {
  it("are sk_ and 32 random bytes in base64url, different every time", () => {
    const keys = new Set(Array.from({ length: 50 }, generateApiKey))
    expect(keys.size).toBe(50)
    for (const key of keys) {
      expect(key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/)
      expect(Buffer.from(key.slice(3), "base64url")).toHaveLength(32)
    }
  })

  it("are stored as their SHA-256 in hex and recognised by their last 4 characters", () => {
    const key = "sk_example-key-ABCD"
    expect(hashApiKey(key)).toBe(crypto.createHash("sha256").update(key).digest("hex"))
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/)
    expect(apiKeyLastChars(key)).toBe("ABCD")
  })
})

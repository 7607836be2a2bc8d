import crypto from "node:crypto"

/** A personal API key: `sk_` and 32 random bytes (base64url). Shown once; only its hash is stored. */
export function generateApiKey(): string {
  return `sk_${crypto.randomBytes(32).toString("base64url")}`
}

/** What is stored (and looked up) for a key: its SHA-256, hex. The key has 256 random bits, so no salt or slow hash is needed. */
export function hashApiKey(key: string): string {
  return crypto.createHash("sha256").update(key, "utf8").digest("hex")
}

/** The characters a person recognises a key by (a sensitive field, masked while impersonating). */
export function apiKeyLastChars(key: string): string {
  return key.slice(-4)
}

/** Active (unrevoked) keys a person may hold at once. */
export const MAX_ACTIVE_API_KEYS = 20

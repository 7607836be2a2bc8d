import { sensitiveFields } from "blitz.config"

/**
 * Inputs recorded in the audit log (IMPERSONATED_MUTATION) without their secrets: any field
 * whose name looks like a password, token, secret or key, or names a sensitive field
 * (blitz.config.ts: a phone typed in must not outlive an erasure in the append-only log), is
 * replaced, at any depth. Text the database cannot store (NUL, a lone surrogate half) becomes
 * U+FFFD, in keys and values, so that a hostile body is still recorded.
 */

export const REDACTED = "[REDACTED]"

const SECRET_NAME = /pass(word|phrase|code)?|pwd|token|secret|key|otp|credential/i

/** Deep enough for any resolver input (bodies are capped at MAX_BODY_DEPTH before this). */
const MAX_DEPTH = 32

const SENSITIVE_NAMES = new Set<string>(Object.values(sensitiveFields).map(({ field }) => field.toLowerCase()))

const UNSTORABLE = /[\u0000\p{Cs}]/gu

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) || SENSITIVE_NAMES.has(name.toLowerCase())
}

function storable(text: string): string {
  return text.replace(UNSTORABLE, "\uFFFD")
}

export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return REDACTED
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1))
  if (value instanceof Date) return value.toISOString()
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([name, item]) => [
        storable(name),
        isSecretName(name) ? REDACTED : redactSecrets(item, depth + 1),
      ]),
    )
  }
  if (typeof value === "bigint") return value.toString()
  if (typeof value === "string") return storable(value)
  return value
}

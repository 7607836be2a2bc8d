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

/**
 * A number as the audit row can keep it: the database's JSON (jsonb numeric, read back through
 * Prisma) returns 17-digit doubles one digit short, and the row would then no longer match its
 * seal. Numbers that 15 significant digits hold exactly are kept; others (and NaN, Infinity)
 * are written as text.
 */
function storableNumber(value: number): number | string {
  if (Number.isSafeInteger(value)) return value
  return Number.isFinite(value) && Number(value.toPrecision(15)) === value ? value : String(value)
}

export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return REDACTED
  // JSON has no undefined inside a list (the database refuses it): null, as JSON.stringify writes it.
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : redactSecrets(item, depth + 1)))
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([name, item]) => [
        storable(name),
        isSecretName(name) ? REDACTED : redactSecrets(item, depth + 1),
      ]),
    )
  }
  if (typeof value === "bigint") return value.toString()
  if (typeof value === "number") return storableNumber(value)
  if (typeof value === "string") return storable(value)
  return value
}

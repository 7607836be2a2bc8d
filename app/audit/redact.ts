/**
 * Inputs recorded in the audit log (IMPERSONATED_MUTATION) without their secrets: any field
 * whose name looks like a password, token, secret or key is replaced, at any depth.
 */

export const REDACTED = "[REDACTED]"

const SECRET_NAME = /pass(word|phrase|code)?|pwd|token|secret|key|otp|credential/i

/** Deep enough for any resolver input (bodies are capped at MAX_BODY_DEPTH before this). */
const MAX_DEPTH = 32

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name)
}

export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return REDACTED
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1))
  if (value instanceof Date) return value.toISOString()
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([name, item]) => [
        name,
        isSecretName(name) ? REDACTED : redactSecrets(item, depth + 1),
      ]),
    )
  }
  if (typeof value === "bigint") return value.toString()
  return value
}

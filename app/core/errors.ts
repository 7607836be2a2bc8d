import { AuthorizationError } from "blitz"

/**
 * A refusal by the impersonation policy. It travels over RPC as an AuthorizationError whose
 * `code` names the rule and whose `message` is shown to the person as it is.
 */
export class ImpersonationRefusedError extends AuthorizationError {
  code: string
  /** Facts the client may use (e.g. APPROVAL_REQUIRED's `accessRequestId`); Blitz sends `meta` over RPC. */
  meta?: Record<string, unknown>
  constructor(code: string, message: string, meta?: Record<string, unknown>) {
    super(message)
    this.name = "ImpersonationRefusedError"
    this.code = code
    if (meta) this.meta = meta
  }
}

/** Unique-constraint violation from either engine (adapter-pg gives P2002, PGlite a raw 23505). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false
  const e = error as { code?: unknown; cause?: unknown; message?: unknown }
  if (e.code === "P2002" || e.code === "23505") return true
  if (typeof e.message === "string" && /unique constraint|23505/i.test(e.message)) return true
  return e.cause !== undefined && e.cause !== error && isUniqueViolation(e.cause)
}

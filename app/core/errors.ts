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

/** What a request answers while the database server is down or restarting. */
export const DATABASE_UNREACHABLE_MESSAGE = "The database is not reachable; try again in a moment"

// Prisma: can't reach, timed out reaching, closed the connection. PostgreSQL: shut down by the
// administrator, crashed, not accepting connections yet (starting up, recovering); class 08.
// The driver adapter reports socket errors (reset, timeout) as the kinds below.
const UNREACHABLE_CODES = /^(P1001|P1002|P1017|57P01|57P02|57P03|08[0-9A-Z]{3}|ECONNREFUSED)$/
const UNREACHABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout"])
const UNREACHABLE_MESSAGE =
  /Can't reach database server|Connection terminated|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)|Server has closed the connection|Client has encountered a connection error|connect ECONNREFUSED/i

/**
 * True when an error says the database server cannot be reached right now (down, restarting,
 * connection cut), as either engine's driver and Prisma report it, whatever the wrapping
 * (`$queryRaw` gives P2010 with the adapter's `DatabaseNotReachable` inside).
 */
export function isDatabaseUnreachable(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 5) return false
  const e = error as { code?: unknown; kind?: unknown; message?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } }
  if (typeof e.code === "string" && UNREACHABLE_CODES.test(e.code)) return true
  if (typeof e.kind === "string" && UNREACHABLE_KINDS.has(e.kind)) return true
  if (typeof e.message === "string" && UNREACHABLE_MESSAGE.test(e.message)) return true
  return [e.cause, e.meta?.driverAdapterError].some((inner) => inner !== error && isDatabaseUnreachable(inner, depth + 1))
}

/** The last line of an error's message (Prisma's begin with the invocation), for a one-line log. */
export function lastMessageLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const lines = message.split("\n").map((line) => line.trim()).filter(Boolean)
  return (lines.at(-1) ?? "").slice(0, 200)
}

import { impersonationGuardRails } from "blitz.config"
import db from "db"
import { runInDbScope, type ScopeImpersonation } from "db/scope"
import { appendAuditEvent, recordAuditEvent } from "app/audit/log"
import { redactSecrets } from "app/audit/redact"
import { log } from "app/core/log"
import { sessionForRequest } from "./guard"
import { decideImpersonatedCall } from "./policy"

/**
 * Rules 8 and 9 at request time, for every RPC call of an impersonated session (called by the
 * RPC route, app/core/rpcRoute.ts, so no resolver carries any of it):
 * - queries run with sensitive fields masked (db/index.ts reads the scope set here);
 * - the refused list is refused in every mode, any other mutation unless read-write;
 * - every gated mutation, allowed or refused, writes one IMPERSONATED_MUTATION event with the
 *   resolver, both identities, the outcome and the input with secrets redacted; an allowed one
 *   runs in one transaction with its event (a failure rolls the change back, then is recorded).
 */

type Call = () => Promise<Response>

/**
 * Where Blitz's loader registered the resolver: `queries/` folders hold queries, anything else
 * is a mutation; null: no such resolver (Blitz answers 404). Fails closed: without a registry
 * every call counts as a mutation.
 */
export function resolverKind(resolver: string): "query" | "mutation" | null {
  // Blitz's resolver registry (@blitzjs/rpc keeps it on this global, in the build and in tests).
  const registry = (
    globalThis as {
      __internal_blitzRpcResolverFiles?: {
        blitzRpcResolverFilesLoaded?: Record<string, { absoluteResolverPath?: string }> | null
      }
    }
  ).__internal_blitzRpcResolverFiles?.blitzRpcResolverFilesLoaded
  if (!registry) return "mutation"
  const loaded = registry[`/${resolver}`]
  if (!loaded) return null
  return /[\\/]queries[\\/]/.test(loaded.absoluteResolverPath ?? "") ? "query" : "mutation"
}

/** An RPC error answer as Blitz's client reads it (status 200, the error in the payload). */
function rpcErrorResponse(error: { name: string; message: string; code: string; statusCode: number }): Response {
  return Response.json({ result: null, error, meta: {} })
}

/** The error an RPC answer carries, if any (Blitz answers resolver errors with status 200). */
function answeredError(text: string): { name?: string; code?: string; message?: string } | null {
  try {
    const payload = JSON.parse(text) as { error?: { name?: string; code?: string; message?: string } | null }
    return payload.error ?? null
  } catch {
    return { name: "UnreadableAnswer" }
  }
}

/** The impersonation ended (or ran out) after the guard read it: the call is not made. */
class ImpersonationOver extends Error {
  constructor() {
    super("This impersonation has ended; nothing was changed")
  }
}

class RolledBack extends Error {
  constructor(
    readonly answer: Response,
    readonly text: string,
    readonly error: { name?: string; code?: string; message?: string },
  ) {
    super("rolled back")
  }
}

/**
 * Runs an RPC call of the session with this handle: as it is when the server's session row
 * names no impersonation (never what the cookie's public data says), gated when it does.
 */
export async function gateRpcCall(input: {
  handle: string | null
  /** The session's user: none (anonymous) means no row, so no impersonation. */
  userId: unknown
  resolver: string
  params: unknown
  call: Call
}) {
  // The guard's read of this request's session (the row, not the cookie), reused.
  const row = input.handle && input.userId != null ? await sessionForRequest(input.handle) : null
  if (!row?.impersonationId) return input.call()
  return gateImpersonatedCall({ ...input, impersonationId: row.impersonationId, impersonation: row.impersonation })
}

async function gateImpersonatedCall(input: {
  impersonationId: number
  /** The row as the guard read it this request (null: it vanished since). */
  impersonation: { id: number; actorId: number; subjectId: number; organizationId: number | null; mode: ScopeImpersonation["mode"] } | null
  resolver: string
  /** The call's parameters as the resolver receives them (before its own validation). */
  params: unknown
  call: Call
}): Promise<Response> {
  const { resolver, call } = input
  const kind = resolverKind(resolver)
  if (!kind) return call() // no such resolver: Blitz answers 404
  const row = input.impersonation
  // The guard found this row a moment ago; if it vanished since, nothing may be written.
  const impersonation: ScopeImpersonation = row
    ? { id: row.id, actorId: row.actorId, subjectId: row.subjectId, mode: row.mode }
    : { id: input.impersonationId, actorId: 0, subjectId: 0, mode: "READ_ONLY" }
  const decision = decideImpersonatedCall({ resolver, kind, mode: impersonation.mode, rails: impersonationGuardRails })
  if (decision.allowed && !decision.gated) {
    // Queries read masked and may not write, whatever file they live in.
    return runInDbScope({ impersonation, writesRefused: kind === "query" }, call)
  }

  const event = {
    action: "IMPERSONATED_MUTATION" as const,
    actorId: row?.actorId ?? null,
    subjectId: row?.subjectId ?? null,
    impersonationId: input.impersonationId,
    organizationId: row?.organizationId ?? null,
  }
  const details = { resolver, mode: impersonation.mode, input: redactSecrets(input.params) }

  if (!decision.allowed) {
    await appendAuditEvent({ ...event, details: { ...details, outcome: "REFUSED", code: decision.code } })
    log.info({ refused: { resolver, code: decision.code, impersonationId: impersonation.id } }, "Impersonated call refused")
    return rpcErrorResponse({ name: "ImpersonationRefusedError", message: decision.message, code: decision.code, statusCode: 403 })
  }

  try {
    return await db.$transaction(
      async (tx) => {
        // Still live, and kept so until this commits: an End, Stop or expiry that comes while the
        // call runs waits for it, one that came first refuses it (the guard read is older).
        const [live] = await tx.$queryRaw<Array<{ id: number }>>`
          SELECT "id" FROM "Impersonation"
          WHERE "id" = ${impersonation.id} AND "endedAt" IS NULL AND "expiresAt" > ${new Date().toISOString()}::timestamp(3)
          FOR SHARE`
        if (!live) throw new ImpersonationOver()
        const heldMessageIds: number[] = []
        return runInDbScope({ impersonation, transaction: tx, heldMessageIds }, async () => {
          const answer = await call()
          const text = await answer.text()
          const error = answeredError(text)
          if (error) throw new RolledBack(answer, text, error)
          await recordAuditEvent(tx, { ...event, details: { ...details, outcome: "ALLOWED", heldMessageIds } })
          return new Response(text, { status: answer.status, headers: answer.headers })
        })
      },
      { maxWait: 10_000, timeout: 30_000 },
    )
  } catch (failure) {
    if (failure instanceof ImpersonationOver) {
      await appendAuditEvent({ ...event, details: { ...details, outcome: "REFUSED", code: "IMPERSONATION_ENDED" } })
      return rpcErrorResponse({ name: "ImpersonationRefusedError", message: failure.message, code: "IMPERSONATION_ENDED", statusCode: 403 })
    }
    if (!(failure instanceof RolledBack)) throw failure
    const { name = null, code = null } = failure.error
    await appendAuditEvent({ ...event, details: { ...details, outcome: "FAILED", error: { name, code } } })
    return new Response(failure.text, { status: failure.answer.status, headers: failure.answer.headers })
  }
}

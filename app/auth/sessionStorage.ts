import type { SessionModel } from "@blitzjs/auth"
import db from "db"
import {
  endImpersonation,
  forgetSessionRead,
  loadSessionForRequest,
  readPublicData,
  sessionForRequest,
} from "app/impersonation/guard"
import { handBackDeadline } from "app/impersonation/policy"
import { currentRequestMeta } from "app/core/requestContext"

/** Impersonation sessions and sessions handed back from one have a fixed end (rule 5). */
async function hasFixedEnd(handle: string): Promise<boolean> {
  const row = await sessionForRequest(handle)
  return Boolean(row?.impersonationId || readPublicData(row?.publicData)?.returnedFromImpersonation)
}

/** An impersonation session's row dies with the impersonation's hand-back window. */
async function sessionExpiry(impersonationId: number | null, requested: Date | null | undefined) {
  if (!impersonationId) return requested
  // The start that just created it says when it ends; otherwise the row does.
  const started = currentRequestMeta().startedImpersonation
  const expiresAt =
    started?.id === impersonationId
      ? started.expiresAt
      : (await db.impersonation.findUnique({ where: { id: impersonationId }, select: { expiresAt: true } }))?.expiresAt
  const deadline = handBackDeadline(expiresAt ?? new Date(0))
  return requested && requested < deadline ? requested : deadline
}

/**
 * Blitz session storage on Prisma. Like Blitz's PrismaStorage, except that reads go through
 * the impersonation guard, an impersonation session is linked to its Impersonation row, and a
 * missing row on update (P2025 in current Prisma) is not an error. What the guard read this
 * request is reused, and forgotten as soon as the session changes.
 */
export const sessionStorage = {
  getSession: (handle: string) => loadSessionForRequest(handle),
  getSessions: (userId: number) =>
    db.session.findMany({ where: { userId, expiresAt: { gt: new Date() } } }),
  createSession: async ({ userId, ...session }: SessionModel) => {
    const impersonationId = readPublicData(session.publicData)?.impersonationId ?? null
    forgetSessionRead()
    return db.session.create({
      data: {
        ...session,
        userId: typeof userId === "number" ? userId : null,
        impersonationId,
        expiresAt: await sessionExpiry(impersonationId, session.expiresAt),
      },
    })
  },
  updateSession: async (handle: string, session: Partial<SessionModel>) => {
    const { userId: _ignored, ...fields } = session
    // Blitz's rolling renewal must not extend an impersonation session, nor one handed back by
    // the guard (which lives only until the next RPC rotates it, see rotateReturnedSession).
    if (fields.expiresAt && (await hasFixedEnd(handle))) delete fields.expiresAt
    // Blitz renews on every POST of a session this short: with nothing left to write, no write.
    if (Object.values(fields).every((value) => value === undefined)) return (await sessionForRequest(handle)) ?? undefined
    forgetSessionRead()
    await db.session.updateMany({ where: { handle }, data: fields })
    return (await db.session.findUnique({ where: { handle } })) ?? undefined
  },
  deleteSession: async (handle: string) => {
    // Revoking an impersonation session by any path (e.g. Blitz's $revokeAll) ends it on record.
    const linked = await sessionForRequest(handle)
    forgetSessionRead()
    if (!linked) return undefined // already gone (a Stop or a start consumed it this request)
    if (linked.impersonationId) {
      await endImpersonation(linked.impersonationId, "SIGNED_OUT", { endedById: null })
    }
    await db.session.deleteMany({ where: { handle } })
    return undefined
  },
}

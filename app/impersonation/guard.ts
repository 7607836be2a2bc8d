import type { PublicData, SessionContext } from "@blitzjs/auth"
import db, { Prisma, type User } from "db"
import { recordAuditEvent } from "app/audit/log"
import { serverConfig } from "app/core/serverConfig"
import { mayReturnToActor, reviewImpersonation, type EndReason, type PolicyUser } from "./policy"

/**
 * Request-time enforcement, in one place. Blitz reads every session (RPC, page, route
 * handler) through `loadSessionForRequest`, so an impersonation that ran out, or was ended
 * elsewhere, is over at the very next request without the client's help.
 */

/** What `toPolicyUser` needs from a User query: `db.user.findUnique({ where, ...userForPolicy })`. */
export const userForPolicy = {
  include: { memberships: { select: { organizationId: true, role: true } } },
} as const

const impersonationWithPeople = {
  include: { actor: userForPolicy, subject: userForPolicy },
} satisfies Prisma.ImpersonationDefaultArgs

type SessionRow = Prisma.SessionGetPayload<object>

export function toPolicyUser(
  user: User & { memberships: PolicyUser["memberships"] },
): PolicyUser {
  return {
    id: user.id,
    role: user.role,
    status: user.status,
    impersonationConsent: user.impersonationConsent,
    memberships: user.memberships,
  }
}

/** Session public data as Blitz stores it (JSON); null when absent or unreadable. */
export function readPublicData(raw: string | null | undefined): Partial<PublicData> | null {
  if (!raw) return null
  try {
    return JSON.parse(raw) as Partial<PublicData>
  } catch {
    return null
  }
}

function claimsImpersonation(raw: string | null): boolean {
  if (!raw) return false
  const data = readPublicData(raw)
  if (!data) return true // unreadable public data is treated as the worst case
  return data.impersonationId != null || data.impersonatingFromUserId != null
}

/** Blitz storage `getSession`: the session as it may be used for this request, or null. */
export async function loadSessionForRequest(handle: string, now = new Date()): Promise<SessionRow | null> {
  // One query for an ordinary session; the people behind an impersonation only when there is one.
  const session = await db.session.findUnique({ where: { handle } })
  if (!session) return null
  const impersonation = session.impersonationId
    ? await db.impersonation.findUnique({ where: { id: session.impersonationId }, ...impersonationWithPeople })
    : null
  if (!impersonation) {
    if (!claimsImpersonation(session.publicData)) return session
    // Public data that names an impersonation the server has no row for is never honoured.
    await db.session.deleteMany({ where: { handle } })
    return null
  }
  const actor = toPolicyUser(impersonation.actor)
  const review = reviewImpersonation({
    impersonation,
    actor,
    subject: toPolicyUser(impersonation.subject),
    now,
    enabled: serverConfig.impersonation.enabled,
  })
  if (review.active) return session
  if (!review.alreadyEnded) {
    await endImpersonation(impersonation.id, review.endReason, { endedById: null, now })
  }
  return returnSessionToActor(handle, impersonation.id, actor, now)
}

/** How long a session handed back to the admin may be used before it is rotated. */
export const RETURNED_SESSION_MAX_MS = 5 * 60_000

/**
 * After an impersonation ends without a Stop press, the same browser session becomes the
 * admin's own again, as recorded on the Impersonation row, or is signed out (rule 6). The
 * impersonation's token must not become a long-lived admin credential, so the handed-back
 * session expires within minutes unless the next RPC rotates it (`rotateReturnedSession`).
 */
async function returnSessionToActor(
  handle: string,
  impersonationId: number,
  actor: PolicyUser,
  now: Date,
): Promise<SessionRow | null> {
  if (!mayReturnToActor(actor)) {
    await db.session.deleteMany({ where: { handle } })
    return null
  }
  const publicData = JSON.stringify({
    userId: actor.id,
    role: actor.role,
    returnedFromImpersonation: true,
  })
  // Conditional on the link so two concurrent requests cannot rewrite an already-new session.
  await db.session.updateMany({
    where: { handle, impersonationId },
    data: {
      userId: actor.id,
      impersonationId: null,
      publicData,
      expiresAt: new Date(now.getTime() + RETURNED_SESSION_MAX_MS),
    },
  })
  return db.session.findUnique({ where: { handle } })
}

/** Replaces a handed-back session with a fresh one (new handle and tokens) for the admin. */
export async function rotateReturnedSession(session: SessionContext): Promise<void> {
  const { userId, role, returnedFromImpersonation } = session.$publicData as Partial<PublicData>
  if (!returnedFromImpersonation || !userId || !role) return
  await session.$revoke()
  await session.$create({ userId, role })
}

/**
 * Ends an impersonation once: the first caller records the audit event, later callers
 * (a concurrent request, a second Stop) change nothing. Returns whether this call ended it.
 * Pass `tx` to make it part of a larger transaction.
 */
export async function endImpersonation(
  impersonationId: number,
  endReason: EndReason,
  { endedById, now = new Date(), tx }: { endedById: number | null; now?: Date; tx?: Prisma.TransactionClient },
): Promise<boolean> {
  if (!tx) return db.$transaction((inner) => endImpersonation(impersonationId, endReason, { endedById, now, tx: inner }))
  const { count } = await tx.impersonation.updateMany({
    where: { id: impersonationId, endedAt: null },
    data: { endedAt: now, endReason, endedById },
  })
  if (count === 0) return false
  const row = await tx.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })
  await recordAuditEvent(
    tx,
    {
      action: "IMPERSONATION_ENDED",
      actorId: row.actorId,
      subjectId: row.subjectId,
      impersonationId: row.id,
      organizationId: row.organizationId,
      details: { endReason, endedById, reason: row.reason, mode: row.mode },
    },
    now,
  )
  return true
}

/** The impersonation the server has on record for this session handle, if any. */
export async function findSessionImpersonation(handle: string) {
  const session = await db.session.findUnique({
    where: { handle },
    select: {
      impersonation: {
        include: { actor: userForPolicy },
      },
    },
  })
  return session?.impersonation ?? null
}

/**
 * Ends the impersonation behind this session, if any (sign-in over it, sign-out), as done by
 * its admin. Revoking the session would end it too (sessionStorage.deleteSession), but without
 * knowing who did it.
 */
export async function endSessionImpersonation(handle: string | null, endReason: EndReason) {
  const impersonation = handle ? await findSessionImpersonation(handle) : null
  if (impersonation) await endImpersonation(impersonation.id, endReason, { endedById: impersonation.actorId })
}

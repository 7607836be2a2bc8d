import type { PublicData, SessionContext } from "@blitzjs/auth"
import db, { Prisma, type User } from "db"
import { recordAuditEvent } from "app/audit/log"
import { serverConfig } from "app/core/serverConfig"
import {
  HAND_BACK_WINDOW_MS,
  handBackDeadline,
  mayReturnToActor,
  reviewImpersonation,
  type EndReason,
  type PolicyUser,
} from "./policy"

/**
 * Request-time enforcement, in one place. Blitz reads every session (RPC, page, route
 * handler) through `loadSessionForRequest`, so an impersonation that ran out, or was ended
 * elsewhere, is over at the very next request without the client's help.
 */

/** What `toPolicyUser` needs from a User query: `db.user.findUnique({ where, ...userForPolicy })`. */
export const userForPolicy = {
  include: {
    memberships: { select: { organizationId: true, role: true, organization: { select: { consentFloor: true } } } },
  },
} as const

const impersonationWithPeople = {
  include: {
    actor: userForPolicy,
    subject: userForPolicy,
    accessRequest: { select: { status: true, expiresAt: true } },
  },
} satisfies Prisma.ImpersonationDefaultArgs

type MembershipRow = { organizationId: number; role: PolicyUser["memberships"][number]["role"]; organization?: { consentFloor: PolicyUser["impersonationConsent"] } }

type SessionRow = Prisma.SessionGetPayload<object>

export function toPolicyUser(user: User & { memberships: readonly MembershipRow[] }): PolicyUser {
  return {
    id: user.id,
    role: user.role,
    status: user.status,
    impersonationConsent: user.impersonationConsent,
    memberships: user.memberships.map((m) => ({
      organizationId: m.organizationId,
      role: m.role,
      consentFloor: m.organization?.consentFloor ?? "ALLOWED",
    })),
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

type SessionWithUserStatus = SessionRow & { userStatus: User["status"] | null; lastSeenStale: boolean | null }

/** Prisma keeps DateTime columns as UTC `timestamp(3)`: raw SQL compares with the same text, whatever the driver's zone. */
function utcTimestamp(date: Date): string {
  return date.toISOString()
}

/** A user's `lastSeenAt` is written at most this often (their own requests only, never impersonated ones). */
export const LAST_SEEN_RESOLUTION_MS = 60_000

/**
 * The session row, its user's status and whether their `lastSeenAt` is older than
 * LAST_SEEN_RESOLUTION_MS, in one query (the hot path of every request).
 */
async function findSessionWithUserStatus(handle: string, now: Date): Promise<SessionWithUserStatus | null> {
  const staleBefore = new Date(now.getTime() - LAST_SEEN_RESOLUTION_MS)
  const rows = await db.$queryRaw<SessionWithUserStatus[]>`
    SELECT s.*, u."status"::text AS "userStatus",
      (u."lastSeenAt" IS NULL OR u."lastSeenAt" <= ${utcTimestamp(staleBefore)}::timestamp(3)) AS "lastSeenStale"
    FROM "Session" s LEFT JOIN "User" u ON u."id" = s."userId"
    WHERE s."handle" = ${handle}`
  const row = rows[0]
  if (!row) return null
  // Raw rows carry timestamps as the driver gives them; the session model wants Dates.
  for (const key of ["createdAt", "updatedAt", "expiresAt"] as const) {
    const value = row[key] as Date | string | null
    if (value !== null && !(value instanceof Date)) (row as Record<string, unknown>)[key] = new Date(value)
  }
  return row
}

/**
 * Item 7: the user's own request moves their `lastSeenAt`. Conditional, so that of concurrent
 * requests one writes; raw, so that `updatedAt` keeps meaning "the account was changed".
 */
async function touchLastSeen(userId: number, now: Date): Promise<void> {
  const staleBefore = new Date(now.getTime() - LAST_SEEN_RESOLUTION_MS)
  await db.$executeRaw`
    UPDATE "User" SET "lastSeenAt" = ${utcTimestamp(now)}::timestamp(3)
    WHERE "id" = ${userId} AND ("lastSeenAt" IS NULL OR "lastSeenAt" <= ${utcTimestamp(staleBefore)}::timestamp(3))`
}

async function killSession(handle: string): Promise<null> {
  await db.session.deleteMany({ where: { handle } })
  return null
}

/**
 * Blitz storage `getSession`: the session as it may be used for this request, or null.
 * Blitz calls it before it checks the row's own expiry, so nothing here may revive a session
 * that is already past its `expiresAt`.
 */
export async function loadSessionForRequest(handle: string, now = new Date()): Promise<SessionRow | null> {
  const found = await findSessionWithUserStatus(handle, now)
  if (!found) return null
  const { userStatus, lastSeenStale, ...session } = found
  if (!session.impersonationId) {
    if (session.expiresAt && session.expiresAt.getTime() <= now.getTime()) return killSession(handle)
    // Public data that names an impersonation the server has no row for is never honoured.
    if (claimsImpersonation(session.publicData)) return killSession(handle)
    if (session.userId !== null && userStatus !== "ACTIVE") return killSession(handle)
    // The user's own request; an impersonated one (below) never moves it.
    if (session.userId !== null && lastSeenStale) await touchLastSeen(session.userId, now)
    return session
  }
  const impersonation = await db.impersonation.findUnique({
    where: { id: session.impersonationId },
    ...impersonationWithPeople,
  })
  if (!impersonation) return killSession(handle)
  const actor = toPolicyUser(impersonation.actor)
  const review = reviewImpersonation({
    impersonation,
    actor,
    subject: toPolicyUser(impersonation.subject),
    now,
    enabled: serverConfig.impersonation.enabled,
    approval: impersonation.accessRequest,
  })
  if (review.active) return session
  if (!review.alreadyEnded) {
    await endImpersonation(impersonation.id, review.endReason, { endedById: null, now: review.endedAt })
  }
  // Handed back only within minutes of the end itself: a cookie replayed later is dead.
  const deadline = handBackDeadline(review.endedAt)
  if (deadline.getTime() <= now.getTime() || !impersonation.handBackToActor || !mayReturnToActor(actor)) {
    await db.session.deleteMany({ where: { handle, impersonationId: impersonation.id } })
    return null
  }
  return returnSessionToActor(handle, impersonation.id, actor, deadline)
}

/** How long a session handed back to the admin may be used, counted from the impersonation's end. */
export const RETURNED_SESSION_MAX_MS = HAND_BACK_WINDOW_MS

/**
 * After an impersonation ends without a Stop press, the same browser session becomes the
 * admin's own again, as recorded on the Impersonation row (rule 6). The impersonation's token
 * must not become a long-lived admin credential, so the handed-back session dies at `deadline`
 * unless an RPC POST rotates it first (`rotateReturnedSession`).
 */
async function returnSessionToActor(
  handle: string,
  impersonationId: number,
  actor: PolicyUser,
  deadline: Date,
): Promise<SessionRow | null> {
  const publicData = JSON.stringify({
    userId: actor.id,
    role: actor.role,
    returnedFromImpersonation: true,
  })
  // Conditional on the link so two concurrent requests cannot rewrite an already-new session.
  await db.session.updateMany({
    where: { handle, impersonationId },
    data: { userId: actor.id, impersonationId: null, publicData, expiresAt: deadline },
  })
  return db.session.findUnique({ where: { handle } })
}

/**
 * Replaces a handed-back session with a fresh one (new handle and tokens) for the admin, after
 * checking the admin exactly as Stop does. Call only for a POST that passed the anti-CSRF
 * check. Of concurrent requests, only the one that removes the old row creates the new one.
 */
export async function rotateReturnedSession(session: SessionContext): Promise<void> {
  const handle = session.$handle
  const { returnedFromImpersonation } = session.$publicData as Partial<PublicData>
  if (!handle || !returnedFromImpersonation) return
  const row = await db.session.findUnique({ where: { handle }, select: { userId: true } })
  const { count } = await db.session.deleteMany({ where: { handle } })
  if (count === 0 || !row?.userId) return
  const admin = await db.user.findUnique({ where: { id: row.userId }, ...userForPolicy })
  const policyAdmin = admin && toPolicyUser(admin)
  await session.$revoke()
  if (mayReturnToActor(policyAdmin)) await session.$create({ userId: policyAdmin.id, role: policyAdmin.role })
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
      // `endedAt` is when it ended (an expiry at its limit); the event's own time is when recorded.
      details: {
        endReason,
        endedById,
        endedAt: now.toISOString(),
        reason: row.reason,
        ticketUrl: row.ticketUrl,
        mode: row.mode,
      },
    },
  )
  return true
}

export type SessionHolder = { userId: number; impersonationId: number | null }

/**
 * Who holds this session according to the server's row (never what a cookie or token claims),
 * and whether it is an impersonation; null: nobody. Resolvers that act as the admin start here.
 */
export async function sessionHolder(session: SessionContext): Promise<SessionHolder | null> {
  const handle = session.$handle
  if (!session.userId || !handle) return null
  const row = await db.session.findUnique({ where: { handle }, select: { userId: true, impersonationId: true } })
  return row?.userId ? { userId: row.userId, impersonationId: row.impersonationId } : null
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

/**
 * Sign-out everywhere (rule 7), a password change (`endReason` PASSWORD_CHANGED) and account
 * deletion: the user's own sessions and the sessions of every impersonation they started end,
 * each impersonation on record with `endReason`, so that no browser can be handed back to them,
 * and their unused actor tokens are revoked. Use this, never Blitz's `$revokeAll`, which
 * reaches only sessions whose `userId` is theirs (an impersonation session's is the subject's).
 */
export async function signOutEverywhere(
  userId: number,
  { endReason = "SIGNED_OUT", now = new Date() }: { endReason?: Extract<EndReason, "SIGNED_OUT" | "PASSWORD_CHANGED">; now?: Date } = {},
): Promise<{ sessions: number; actorTokens: number }> {
  const reach = { OR: [{ userId }, { impersonation: { actorId: userId } }] } satisfies Prisma.SessionWhereInput
  const [linked, live] = await Promise.all([
    db.session.findMany({ where: { ...reach, impersonationId: { not: null } }, select: { impersonationId: true } }),
    db.impersonation.findMany({ where: { actorId: userId, endedAt: null }, select: { id: true } }),
  ])
  const impersonationIds = new Set([...linked.map((s) => s.impersonationId!), ...live.map((i) => i.id)])
  for (const id of impersonationIds) await endImpersonation(id, endReason, { endedById: userId, now })
  const { count } = await db.session.deleteMany({ where: reach })
  // A link they created but nobody opened yet must not start an impersonation afterwards.
  const tokens = await db.actorToken.updateMany({
    where: { actorId: userId, status: "PENDING", expiresAt: { gt: now } },
    data: { status: "REVOKED", revokedAt: now, revokedById: userId },
  })
  return { sessions: count, actorTokens: tokens.count }
}

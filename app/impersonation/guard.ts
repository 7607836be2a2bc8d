import type { PublicData, SessionContext } from "@blitzjs/auth"
import db, { Prisma, type Impersonation, type User } from "db"
import { recordAuditEvent } from "app/audit/log"
import { currentRequestMeta } from "app/core/requestContext"
import { serverConfig } from "app/core/serverConfig"
import {
  HAND_BACK_WINDOW_MS,
  handBackDeadline,
  handsBackAfter,
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

type MembershipRow = { organizationId: number; role: PolicyUser["memberships"][number]["role"]; organization?: { consentFloor: PolicyUser["impersonationConsent"] } }

type SessionRow = Prisma.SessionGetPayload<object>

export function toPolicyUser(
  user: Pick<User, "id" | "role" | "status" | "impersonationConsent"> & { memberships: readonly MembershipRow[] },
): PolicyUser {
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

/** Prisma keeps DateTime columns as UTC `timestamp(3)`: raw SQL compares with the same text, whatever the driver's zone. */
function utcTimestamp(date: Date): string {
  return date.toISOString()
}

/** A user's `lastSeenAt` is written at most this often (their own requests only, never impersonated ones). */
export const LAST_SEEN_RESOLUTION_MS = 60_000

/**
 * Everything a request needs to know about its session, in one statement (relation joins): the
 * row, its user as the policy and getCurrentUser see them, and the impersonation behind it with
 * both people and the approval it runs under. The guard reads it once per request; the RPC gate
 * and resolvers reuse it through `sessionForRequest`.
 */
/** A person as the policy reads them, with their name and email: no more (this is read on every request). */
const policyPerson = {
  select: {
    id: true,
    email: true,
    name: true,
    role: true,
    status: true,
    impersonationConsent: true,
    memberships: userForPolicy.include.memberships,
  },
} as const

const sessionRead = {
  include: {
    user: { select: { ...policyPerson.select, lastSeenAt: true } },
    // The subject is the session's user (checked in loadSession): not read a second time. Only
    // what the policy, getCurrentUser, the RPC gate and Stop use: this is read on every request.
    impersonation: {
      select: {
        id: true,
        actorId: true,
        subjectId: true,
        organizationId: true,
        reason: true,
        ticketUrl: true,
        mode: true,
        handBackToActor: true,
        expiresAt: true,
        endedAt: true,
        endReason: true,
        // The admin's organizations and roles decide their grant; their consent floors never do.
        actor: { select: { ...policyPerson.select, memberships: { select: { organizationId: true, role: true } } } },
        accessRequest: { select: { status: true, expiresAt: true } },
      },
    },
  },
} satisfies Prisma.SessionDefaultArgs

export type SessionRead = Prisma.SessionGetPayload<typeof sessionRead>

function readSession(handle: string): Promise<SessionRead | null> {
  // One statement: relation joins (db/schema.prisma previewFeatures), not one query per relation.
  return db.session.findUnique({ where: { handle }, relationLoadStrategy: "join", ...sessionRead })
}

/** The row Blitz sees: the session's own columns, without what the read joined to it. */
function sessionRowOf(read: SessionRead): SessionRow {
  const { user: _user, impersonation: _impersonation, ...row } = read
  return row
}

/**
 * The session read this request's guard already made for `handle`, or a fresh read (outside a
 * request, or after this request changed its session). Null: no such session.
 */
export async function sessionForRequest(handle: string): Promise<SessionRead | null> {
  const memo = currentRequestMeta().session
  if (memo && memo.handle === handle) return memo.read
  return readSession(handle)
}

/** This request changed its session (or the guard did not pass it as read): read it again. */
export function forgetSessionRead() {
  currentRequestMeta().session = null
}

/**
 * Session handles this process replaced in the last minute (a start, a Stop, a rotation), so
 * that a request of another tab that was already on its way with the old cookie is answered
 * as signed out without touching the browser's cookies: its answer may arrive after the one
 * that set the new session, and would otherwise sign the browser out (Blitz answers a missing
 * session with anonymous cookies). Per process: behind a load balancer, another instance
 * clears the old cookies as for any session it cannot find.
 */
const REPLACED_SESSION_MEMORY_MS = 60_000
const replacedHandles = ((globalThis as { __replacedSessionHandles?: Map<string, number> }).__replacedSessionHandles ??=
  new Map<string, number>())

function rememberReplaced(handle: string, now = Date.now()) {
  for (const [old, at] of replacedHandles) {
    if (now - at < REPLACED_SESSION_MEMORY_MS) break // insertion order: the rest are newer
    replacedHandles.delete(old)
  }
  replacedHandles.set(handle, now)
}

function wasReplacedRecently(handle: string, now = Date.now()): boolean {
  const at = replacedHandles.get(handle)
  return at !== undefined && now - at < REPLACED_SESSION_MEMORY_MS
}

/**
 * Call before the statement that may delete the session row with this handle (a start, a Stop,
 * a rotation): a concurrent request that finds the row gone a moment later knows why. If the
 * row stays, nothing changes (the memory only speaks for rows that are not found).
 */
export function replacingSession(handle: string) {
  rememberReplaced(handle)
}

/** This request deleted the session row with this handle (a start or a Stop consumed it). */
export function sessionConsumed(handle: string) {
  currentRequestMeta().session = { handle, read: null }
}

/** Whether this request came with a session that a start, Stop or rotation replaced meanwhile. */
export function requestSessionReplaced(): boolean {
  return currentRequestMeta().sessionReplaced === true
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
  const session = await loadSession(handle, now)
  // Gone because a start, Stop or rotation of another tab replaced it (before or while this
  // request read it): this answer must not sign the browser out of the new session.
  if (!session && wasReplacedRecently(handle)) currentRequestMeta().sessionReplaced = true
  return session
}

async function loadSession(handle: string, now: Date): Promise<SessionRow | null> {
  forgetSessionRead()
  const read = await readSession(handle)
  if (!read) return null
  const session = sessionRowOf(read)
  const impersonation = read.impersonation
  if (!impersonation) {
    if (session.impersonationId) return killSession(handle) // linked to a row that is gone
    if (session.expiresAt && session.expiresAt.getTime() <= now.getTime()) return killSession(handle)
    // Public data that names an impersonation the server has no row for is never honoured.
    if (claimsImpersonation(session.publicData)) return killSession(handle)
    const user = read.user
    if (session.userId !== null && user?.status !== "ACTIVE") return killSession(handle)
    // The user's own request; an impersonated one (below) never moves it.
    const lastSeen = user?.lastSeenAt?.getTime() ?? null
    if (user && (lastSeen === null || lastSeen <= now.getTime() - LAST_SEEN_RESOLUTION_MS)) await touchLastSeen(user.id, now)
    currentRequestMeta().session = { handle, read }
    return session
  }
  // An impersonation session belongs to its subject; a row that says otherwise is not used.
  if (!read.user || session.userId !== impersonation.subjectId) return killSession(handle)
  const actor = toPolicyUser(impersonation.actor)
  const review = reviewImpersonation({
    impersonation,
    actor,
    subject: toPolicyUser(read.user),
    now,
    enabled: serverConfig.impersonation.enabled,
    approval: impersonation.accessRequest,
  })
  if (review.active) {
    currentRequestMeta().session = { handle, read }
    return session
  }
  if (!review.alreadyEnded) {
    await endImpersonation(impersonation.id, review.endReason, { endedById: null, now: review.endedAt })
  }
  // Handed back only within minutes of the end itself: a cookie replayed later is dead.
  const deadline = handBackDeadline(review.endedAt)
  if (
    deadline.getTime() <= now.getTime() ||
    !impersonation.handBackToActor ||
    !handsBackAfter(review.endReason) ||
    !mayReturnToActor(actor)
  ) {
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
  replacingSession(handle)
  const { count } = await db.session.deleteMany({ where: { handle } })
  if (count === 0 || !row?.userId) return
  sessionConsumed(handle)
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
  // One statement: the conditional end, returning the row for the audit event.
  const [row] = await tx.impersonation.updateManyAndReturn({
    where: { id: impersonationId, endedAt: null },
    data: { endedAt: now, endReason, endedById },
  })
  if (!row) return false
  await recordImpersonationEnded(tx, { ...row, endReason, endedById, endedAt: now })
  return true
}

/**
 * Stop: consumes this session's link and, if it was this request that consumed it, ends the
 * impersonation (STOPPED, by its admin), in one statement beside `endImpersonation`'s conditional
 * end. Of two tabs pressing Stop at once (or a Stop meeting the guard's hand-back at the time
 * limit), one gets true and hands the browser back; an end that won the race is kept as is.
 */
export async function stopSessionImpersonation(
  handle: string,
  impersonation: Omit<Parameters<typeof recordImpersonationEnded>[1], "endReason" | "endedById" | "endedAt">,
): Promise<boolean> {
  const now = new Date()
  replacingSession(handle)
  const consumed = await db.$transaction(async (tx) => {
    const [outcome] = await tx.$queryRaw<{ consumed: boolean; ended: boolean }[]>`
      WITH consumed AS (
        DELETE FROM "Session" WHERE "handle" = ${handle} AND "impersonationId" = ${impersonation.id}
        RETURNING "impersonationId"
      ), ended AS (
        UPDATE "Impersonation"
        SET "endedAt" = ${utcTimestamp(now)}::timestamp(3), "endReason" = 'STOPPED', "endedById" = "actorId"
        WHERE "id" IN (SELECT "impersonationId" FROM consumed) AND "endedAt" IS NULL
        RETURNING "id"
      )
      SELECT EXISTS (SELECT 1 FROM consumed) AS consumed, EXISTS (SELECT 1 FROM ended) AS ended`
    if (outcome?.ended) {
      await recordImpersonationEnded(tx, { ...impersonation, endReason: "STOPPED", endedById: impersonation.actorId, endedAt: now })
    }
    return Boolean(outcome?.consumed)
  })
  if (consumed) sessionConsumed(handle)
  return consumed
}

/** The IMPERSONATION_ENDED event of a row that was just ended (in the same transaction). */
export async function recordImpersonationEnded(
  tx: Prisma.TransactionClient,
  row: Pick<Impersonation, "id" | "actorId" | "subjectId" | "organizationId" | "reason" | "ticketUrl" | "mode"> & {
    endReason: EndReason
    endedById: number | null
    endedAt: Date
  },
) {
  await recordAuditEvent(tx, {
    action: "IMPERSONATION_ENDED",
    actorId: row.actorId,
    subjectId: row.subjectId,
    impersonationId: row.id,
    organizationId: row.organizationId,
    // `endedAt` is when it ended (an expiry at its limit); the event's own time is when recorded.
    details: {
      endReason: row.endReason,
      endedById: row.endedById,
      endedAt: row.endedAt.toISOString(),
      reason: row.reason,
      ticketUrl: row.ticketUrl,
      mode: row.mode,
    },
  })
}

export type SessionHolder = {
  userId: number
  impersonationId: number | null
  /** The holder's account as the policy reads it (`toPolicyUser`), from the same read. */
  user: Prisma.UserGetPayload<typeof policyPerson>
}

/**
 * Who holds this session according to the server's row (never what a cookie or token claims),
 * and whether it is an impersonation; null: nobody. Resolvers that act as the admin start here.
 */
export async function sessionHolder(session: SessionContext): Promise<SessionHolder | null> {
  const handle = session.$handle
  if (!session.userId || !handle) return null
  const row = await sessionForRequest(handle)
  return row?.userId && row.user ? { userId: row.userId, impersonationId: row.impersonationId, user: row.user } : null
}

/** The impersonation the server has on record for this session handle, if any (with its admin). */
export async function findSessionImpersonation(handle: string) {
  return (await sessionForRequest(handle))?.impersonation ?? null
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
  return db.$transaction(
    async (tx) => {
      // In this order, so that a start or a redemption running at the same moment is wholly
      // before this or refused: revoking the tokens waits for a redemption that claimed one, and
      // removing the sessions waits for a start that consumed one of them; both create their
      // impersonation and its session in their transaction, so the statements after see them.
      // A link they created but nobody opened yet must not start an impersonation afterwards.
      const tokens = await tx.actorToken.updateMany({
        where: { actorId: userId, status: "PENDING", expiresAt: { gt: now } },
        data: { status: "REVOKED", revokedAt: now, revokedById: userId },
      })
      const first = await tx.session.deleteMany({ where: { ...reach, impersonationId: null } })
      // Every impersonation they started that is live, or still linked to a session.
      const linked = await tx.session.findMany({ where: { ...reach, impersonationId: { not: null } }, select: { impersonationId: true } })
      const live = await tx.impersonation.findMany({ where: { actorId: userId, endedAt: null }, select: { id: true } })
      const impersonationIds = new Set([...linked.map((s) => s.impersonationId!), ...live.map((i) => i.id)])
      for (const id of impersonationIds) await endImpersonation(id, endReason, { endedById: userId, now, tx })
      const { count } = await tx.session.deleteMany({ where: reach })
      return { sessions: first.count + count, actorTokens: tokens.count }
    },
    { maxWait: 10_000, timeout: 30_000 },
  )
}


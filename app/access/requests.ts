import db, { type Prisma } from "db"
import { recordAuditEvent } from "app/audit/log"
import { ImpersonationRefusedError, isUniqueViolation } from "app/core/errors"
import { serverConfig } from "app/core/serverConfig"
import { endImpersonation } from "app/impersonation/guard"
import {
  accessRequestStatus,
  decideTarget,
  type ImpersonationMode,
  type PublicAccessRequestStatus,
  type StartRequest,
} from "app/impersonation/policy"
import { recordRefusedStart } from "app/impersonation/start"
import { enqueueEmail } from "mailers/outbox"
import {
  ACCESS_REQUEST_REFUSALS,
  accessRequestEmail,
  approvalEndsAt,
  decideAnswer,
  decideRevocation,
  requestExpiresAt,
  waitingMessage,
} from "./requestRules"

/**
 * Access requests (issue 8): where the user's consent is "Ask me each time", an admin's start
 * asks the user instead; the user approves (time-boxed, mode-capped) or denies, and may revoke
 * an approval at any time. Every step is one transaction with its audit event.
 */

type Tx = Prisma.TransactionClient

type Person = { id: number; name: string; email: string }

/** Who asks, whom, and what for: what a start that needs the user's approval knows. */
export type AccessAsk = {
  request: StartRequest
  actor: Person
  subject: Person
  reason: string
  ticketUrl: string | null
  mode: ImpersonationMode
  hours: number
  /** How a refused start is audited when the ask points at a request already waiting. */
  refusal: Omit<Parameters<typeof recordRefusedStart>[0], "code"> & { details: Record<string, unknown> }
}

/** Requests of this admin for this user that went unanswered: expiry recorded (in `tx`). */
async function recordExpiriesOf(tx: Tx, pair: { actorId: number; subjectId: number }, now: Date) {
  const stale = await tx.accessRequest.findMany({
    where: { ...pair, status: "PENDING", expiryRecordedAt: null, requestExpiresAt: { lte: now } },
    select: { id: true },
  })
  for (const { id } of stale) await recordExpiry(tx, id, now)
}

/**
 * Creates the access request (with its ACCESS_REQUESTED event and the email to the user, in one
 * transaction), or points at the one of this admin for this user still waiting (no second
 * request, no second email); then refuses the start with APPROVAL_REQUIRED and the request's id.
 */
export async function askUserForAccess(ask: AccessAsk, now = new Date()): Promise<never> {
  const { actor, subject } = ask
  const pair = { actorId: actor.id, subjectId: subject.id }
  const target = ask.request.target ? decideTarget(ask.request.actor, ask.request.target) : null
  const organizationId = target?.allowed && target.grant.kind === "ORGANIZATION" ? target.grant.organizationId : null
  const openWhere = { ...pair, status: "PENDING" as const, expiryRecordedAt: null, requestExpiresAt: { gt: now } }
  let outcome: { id: number; created: boolean; hours: number; mode: ImpersonationMode }
  try {
    outcome = await db.$transaction(async (tx) => {
      // Concurrent asks for one user queue here; the partial unique index is the last word.
      await tx.$queryRaw`SELECT "id" FROM "User" WHERE "id" = ${subject.id} FOR UPDATE`
      const open = await tx.accessRequest.findFirst({ where: openWhere, select: { id: true, hours: true, mode: true } })
      if (open) return { ...open, created: false }
      await recordExpiriesOf(tx, pair, now)
      const expiresAt = requestExpiresAt(now)
      const created = await tx.accessRequest.create({
        data: {
          ...pair,
          createdAt: now,
          organizationId,
          reason: ask.reason,
          ticketUrl: ask.ticketUrl,
          mode: ask.mode,
          hours: ask.hours,
          requestExpiresAt: expiresAt,
        },
      })
      const event = await recordAuditEvent(
        tx,
        {
          action: "ACCESS_REQUESTED",
          ...pair,
          impersonationId: null,
          organizationId,
          details: {
            accessRequestId: created.id,
            reason: ask.reason,
            ticketUrl: ask.ticketUrl,
            mode: ask.mode,
            hours: ask.hours,
            requestExpiresAt: expiresAt.toISOString(),
            via: ask.refusal.action === "ACTOR_TOKEN_REFUSED" ? "ACTOR_TOKEN" : "IMPERSONATE",
          },
        },
        now,
      )
      const email = accessRequestEmail({
        admin: actor,
        reason: ask.reason,
        ticketUrl: ask.ticketUrl,
        mode: ask.mode,
        hours: ask.hours,
        requestExpiresAt: expiresAt,
        appOrigin: serverConfig.http.appOrigin,
      })
      await enqueueEmail(tx, { to: subject.email, ...email, auditEventId: event.id }, now)
      return { id: created.id, created: true, hours: created.hours, mode: created.mode }
    })
  } catch (error) {
    if (!isUniqueViolation(error)) throw error
    // Another start created it a moment ago: point at that one.
    const open = await db.accessRequest.findFirst({ where: openWhere, select: { id: true, hours: true, mode: true } })
    if (!open) throw error
    outcome = { ...open, created: false }
  }
  if (!outcome.created) {
    await recordRefusedStart({
      ...ask.refusal,
      code: "APPROVAL_REQUIRED",
      details: { ...ask.refusal.details, accessRequestId: outcome.id },
    })
  }
  throw new ImpersonationRefusedError(
    "APPROVAL_REQUIRED",
    waitingMessage({ userName: subject.name, hours: outcome.hours, mode: outcome.mode, created: outcome.created }),
    { accessRequestId: outcome.id },
  )
}

// ---------------------------------------------------------------------------------------------
// Expiry of unanswered requests
// ---------------------------------------------------------------------------------------------

/** Records one request's expiry once (conditional): ACCESS_REQUEST_EXPIRED. Returns whether this call did. */
async function recordExpiry(tx: Tx, id: number, now: Date): Promise<boolean> {
  const { count } = await tx.accessRequest.updateMany({
    where: { id, status: "PENDING", expiryRecordedAt: null, requestExpiresAt: { lte: now } },
    data: { expiryRecordedAt: now },
  })
  if (count !== 1) return false
  const row = await tx.accessRequest.findUniqueOrThrow({ where: { id } })
  await recordAuditEvent(
    tx,
    {
      action: "ACCESS_REQUEST_EXPIRED",
      actorId: row.actorId,
      subjectId: row.subjectId,
      impersonationId: null,
      organizationId: row.organizationId,
      details: {
        accessRequestId: row.id,
        reason: row.reason,
        ticketUrl: row.ticketUrl,
        mode: row.mode,
        hours: row.hours,
        expiredAt: row.requestExpiresAt.toISOString(),
      },
    },
    now,
  )
  return true
}

/**
 * Records ACCESS_REQUEST_EXPIRED, once per request, for requests left unanswered past their 24
 * hours (their public status is "expired" from that moment whether or not this ran). For the
 * outbox worker's loop; safe on any number of instances. Returns how many it recorded.
 */
export async function expireAccessRequests(now = new Date(), { limit = 100 }: { limit?: number } = {}): Promise<number> {
  const due = await db.accessRequest.findMany({
    where: { status: "PENDING", expiryRecordedAt: null, requestExpiresAt: { lte: now } },
    orderBy: { requestExpiresAt: "asc" },
    take: limit,
    select: { id: true },
  })
  let recorded = 0
  for (const { id } of due) {
    if (await db.$transaction((tx) => recordExpiry(tx, id, now))) recorded++
  }
  return recorded
}

// ---------------------------------------------------------------------------------------------
// The user's side: list, answer, revoke
// ---------------------------------------------------------------------------------------------

export type AccessRequestView = {
  id: number
  admin: { name: string; email: string }
  organization: { id: number; name: string } | null
  reason: string
  ticketUrl: string | null
  mode: ImpersonationMode
  hours: number
  status: PublicAccessRequestStatus
  requestedAt: Date
  requestExpiresAt: Date
  approvedMode: ImpersonationMode | null
  approvedHours: number | null
  /** APPROVED: when the approval ends. */
  expiresAt: Date | null
  decidedAt: Date | null
  revokedAt: Date | null
}

export type AccessRequestsOfUser = {
  /** Waiting for the user's answer, oldest first. */
  pending: AccessRequestView[]
  /** Approvals in force, ending soonest first. */
  approved: AccessRequestView[]
  /** Answered, revoked or expired in the last 30 days, newest first (at most 20). */
  recent: AccessRequestView[]
}

const RECENT_DAYS = 30
const RECENT_LIMIT = 20

/** The user's own requests: waiting, in force, and recently over. */
export async function accessRequestsOf(userId: number, now = new Date()): Promise<AccessRequestsOfUser> {
  const since = new Date(now.getTime() - RECENT_DAYS * 24 * 60 * 60_000)
  const rows = await db.accessRequest.findMany({
    where: { subjectId: userId, createdAt: { gte: since } },
    orderBy: { id: "desc" },
    take: 200,
    include: {
      actor: { select: { name: true, email: true } },
      organization: { select: { id: true, name: true } },
    },
  })
  const views: AccessRequestView[] = rows.map((row) => ({
    id: row.id,
    admin: row.actor,
    organization: row.organization,
    reason: row.reason,
    ticketUrl: row.ticketUrl,
    mode: row.mode,
    hours: row.hours,
    status: accessRequestStatus(row, now),
    requestedAt: row.createdAt,
    requestExpiresAt: row.requestExpiresAt,
    approvedMode: row.approvedMode,
    approvedHours: row.approvedHours,
    expiresAt: row.expiresAt,
    decidedAt: row.decidedAt,
    revokedAt: row.revokedAt,
  }))
  return {
    pending: views.filter((v) => v.status === "pending").reverse(),
    approved: views
      .filter((v) => v.status === "approved")
      .sort((a, b) => a.expiresAt!.getTime() - b.expiresAt!.getTime()),
    recent: views.filter((v) => v.status !== "pending" && v.status !== "approved").slice(0, RECENT_LIMIT),
  }
}

const decidable = {
  subjectId: true,
  actorId: true,
  organizationId: true,
  mode: true,
  hours: true,
  reason: true,
  ticketUrl: true,
  status: true,
  requestExpiresAt: true,
  approvedMode: true,
  expiresAt: true,
  decidedAt: true,
  revokedAt: true,
} as const

function refusal(code: keyof typeof ACCESS_REQUEST_REFUSALS, message: string): ImpersonationRefusedError {
  return new ImpersonationRefusedError(code, message)
}

export type AnswerInput = { id: number; decision: "APPROVE" | "DENY"; hours: number; mode: ImpersonationMode }

/**
 * The user approves (for `hours`, in `mode`, never wider than asked) or denies their own
 * request while it waits. Conditional, so of concurrent answers one decides; audited
 * ACCESS_APPROVED / ACCESS_DENIED.
 */
export async function answerAccessRequest(userId: number, input: AnswerInput, now = new Date()) {
  const request = await db.accessRequest.findUnique({ where: { id: input.id }, select: decidable })
  const decision = decideAnswer({ request, userId, decision: input.decision, mode: input.mode, now })
  if (!decision.allowed) throw refusal(decision.code, decision.message)
  const found = request!
  const approving = input.decision === "APPROVE"
  const expiresAt = approving ? approvalEndsAt(now, input.hours) : null
  return db.$transaction(async (tx) => {
    const { count } = await tx.accessRequest.updateMany({
      where: { id: input.id, subjectId: userId, status: "PENDING", expiryRecordedAt: null, requestExpiresAt: { gt: now } },
      data: approving
        ? { status: "APPROVED", approvedMode: input.mode, approvedHours: input.hours, expiresAt, decidedAt: now }
        : { status: "DENIED", decidedAt: now },
    })
    if (count !== 1) throw refusal("ACCESS_REQUEST_DECIDED", ACCESS_REQUEST_REFUSALS.ACCESS_REQUEST_DECIDED)
    await recordAuditEvent(
      tx,
      {
        action: approving ? "ACCESS_APPROVED" : "ACCESS_DENIED",
        actorId: found.actorId,
        subjectId: found.subjectId,
        impersonationId: null,
        organizationId: found.organizationId,
        details: {
          accessRequestId: input.id,
          decidedById: userId,
          reason: found.reason,
          ticketUrl: found.ticketUrl,
          askedMode: found.mode,
          askedHours: found.hours,
          ...(approving
            ? { approvedMode: input.mode, approvedHours: input.hours, expiresAt: expiresAt!.toISOString() }
            : {}),
        },
      },
      now,
    )
    return {
      id: input.id,
      status: approving ? ("approved" as const) : ("denied" as const),
      approvedMode: approving ? input.mode : null,
      approvedHours: approving ? input.hours : null,
      expiresAt,
      decidedAt: now,
    }
  })
}

/**
 * The user takes back an approval in force: REVOKED, audited ACCESS_REVOKED, and any
 * impersonation running under it ends now (ENDED_BY_USER; the guard also ends, at its next
 * request, any it could not see here).
 */
export async function revokeAccessGrantOf(userId: number, id: number, now = new Date()) {
  const request = await db.accessRequest.findUnique({ where: { id }, select: decidable })
  const decision = decideRevocation({ request, userId, now })
  if (!decision.allowed) throw refusal(decision.code, decision.message)
  const found = request!
  return db.$transaction(async (tx) => {
    const { count } = await tx.accessRequest.updateMany({
      where: { id, subjectId: userId, status: "APPROVED", expiresAt: { gt: now } },
      data: { status: "REVOKED", revokedAt: now },
    })
    if (count !== 1) throw refusal("ACCESS_GRANT_NOT_IN_FORCE", ACCESS_REQUEST_REFUSALS.ACCESS_GRANT_NOT_IN_FORCE)
    const live = await tx.impersonation.findMany({ where: { accessRequestId: id, endedAt: null }, select: { id: true } })
    await recordRevocation(tx, { ...found, id }, { revokedById: userId, endedImpersonationIds: live.map((row) => row.id) }, now)
    for (const row of live) await endImpersonation(row.id, "ENDED_BY_USER", { endedById: userId, now, tx })
    return { id, status: "revoked" as const, revokedAt: now, endedImpersonations: live.length }
  })
}

/**
 * "Never" takes back every approval in force for these users (the user's own NEVER, or an
 * organization's NEVER floor for its members): an approval given before must not come back to
 * life when the setting is relaxed later. Each is audited ACCESS_REVOKED with its cause, in the
 * caller's transaction; impersonations under them end at their next request (TARGET_REVOKED).
 */
export async function revokeApprovalsOnNever(
  tx: Tx,
  subjects: { userId: number } | { organizationId: number },
  cause: { revokedById: number; because: "CONSENT_NEVER" | "ORGANIZATION_FLOOR_NEVER" },
  now = new Date(),
): Promise<number[]> {
  const who = "userId" in subjects ? { subjectId: subjects.userId } : { subject: { memberships: { some: { organizationId: subjects.organizationId } } } }
  const inForce = await tx.accessRequest.findMany({
    where: { ...who, status: "APPROVED", expiresAt: { gt: now } },
    select: { id: true, actorId: true, subjectId: true, organizationId: true, reason: true, approvedMode: true, expiresAt: true },
  })
  const revoked: number[] = []
  for (const found of inForce) {
    const { count } = await tx.accessRequest.updateMany({
      where: { id: found.id, status: "APPROVED" },
      data: { status: "REVOKED", revokedAt: now },
    })
    if (count !== 1) continue
    revoked.push(found.id)
    await recordRevocation(tx, found, { revokedById: cause.revokedById, cause: cause.because }, now)
  }
  return revoked
}

/** ACCESS_REVOKED for one approval, by the user (Revoke) or by a Never (with its `cause`). */
async function recordRevocation(
  tx: Tx,
  found: {
    id: number
    actorId: number
    subjectId: number
    organizationId: number | null
    reason: string
    approvedMode: ImpersonationMode | null
    expiresAt: Date | null
  },
  extra: { revokedById: number } & Record<string, unknown>,
  now: Date,
) {
  await recordAuditEvent(
    tx,
    {
      action: "ACCESS_REVOKED",
      actorId: found.actorId,
      subjectId: found.subjectId,
      impersonationId: null,
      organizationId: found.organizationId,
      details: {
        accessRequestId: found.id,
        reason: found.reason,
        approvedMode: found.approvedMode,
        approvedUntil: found.expiresAt?.toISOString() ?? null,
        ...extra,
      },
    },
    now,
  )
}

// ---------------------------------------------------------------------------------------------
// The admin's side
// ---------------------------------------------------------------------------------------------

export type AccessApprovalForAdmin = {
  accessRequestId: number
  status: PublicAccessRequestStatus
  /** The request's asked mode and hours. */
  mode: ImpersonationMode
  hours: number
  requestExpiresAt: Date
  approvedMode: ImpersonationMode | null
  /** APPROVED: until when the admin may start impersonations of this user. */
  until: Date | null
} | null

/** The admin's own latest request for this user, as the console dialog shows it; null: none. */
export async function accessApprovalForAdmin(adminId: number, userId: number, now = new Date()): Promise<AccessApprovalForAdmin> {
  const row = await db.accessRequest.findFirst({
    where: { actorId: adminId, subjectId: userId },
    orderBy: { id: "desc" },
  })
  if (!row) return null
  return {
    accessRequestId: row.id,
    status: accessRequestStatus(row, now),
    mode: row.mode,
    hours: row.hours,
    requestExpiresAt: row.requestExpiresAt,
    approvedMode: row.approvedMode,
    until: row.status === "APPROVED" ? row.expiresAt : null,
  }
}

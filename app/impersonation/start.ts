import type { SessionContext } from "@blitzjs/auth"
import db, { Prisma, type Impersonation } from "db"
import { appendAuditEvent, recordAuditEvent } from "app/audit/log"
import { ImpersonationRefusedError, isUniqueViolation } from "app/core/errors"
import { serverConfig } from "app/core/serverConfig"
import { currentRequestMeta } from "app/core/requestContext"
import { runInDbScope } from "db/scope"
import { endImpersonation, replacingSession, sessionConsumed } from "./guard"
import { STEP_UP_THROTTLED, checkStepUp } from "./stepUp"
import {
  decideImpersonationStart,
  decideQuota,
  decideStepUp,
  effectiveConsent,
  type PolicyUser,
  type AccessApproval,
  type ApprovedAccess,
  type StartDecision,
  impersonationExpiresAt,
  monthStart,
  type Grant,
  type ImpersonationMode,
  type StartRequest,
  type RefusalCode,
} from "./policy"

/**
 * The start of an impersonation, shared by every way in (the Switch to User form, the
 * console's dialog, an actor token): one transaction (rule 3 and DESIGN.md's start), then the
 * browser's session becomes the subject's.
 */

type Tx = Prisma.TransactionClient

export class ConcurrentStartError extends ImpersonationRefusedError {
  constructor() {
    super(
      "CONCURRENT_START",
      "Your session changed at the same moment (another start, a Stop or a sign-out); reload the page and try again",
    )
  }
}

/** Impersonations this admin started in the current calendar month (UTC), for the quota. */
export function startsThisMonth(actorId: number, now: Date, client: Tx | typeof db = db) {
  return client.impersonation.count({ where: { actorId, startedAt: { gte: monthStart(now) } } })
}

export type StartArgs = {
  session: SessionContext
  actorId: number
  subject: { id: number; role: "USER" | "SUPPORT" | "SUPERADMIN" }
  grant: Grant
  reason: string
  ticketUrl: string | null
  /** READ_WRITE only after the step-up (checked by the caller, before the start). */
  mode: ImpersonationMode
  /**
   * The admin's own session that this browser holds and the start replaces (consumed in the
   * transaction, so of concurrent starts from one session one wins), or null when the browser
   * holds no session of the admin (an actor token redeemed elsewhere).
   */
  adminSessionHandle: string | null
  /** Runs first inside the start's transaction (an actor token is claimed there); throws to refuse. */
  claim?: (tx: Tx) => Promise<{ actorTokenId: number } | void>
  /** The user's approval it starts under (consent ASK): the impersonation never outlives it. */
  approval?: ApprovedAccess
  now: Date
}

/**
 * What the policy needs to know of the user's approval for a start: the latest access request of
 * this admin for this user, read only where the user's consent (or floor) asks for approval.
 */
export async function approvalForStart(actorId: number, target: PolicyUser | null): Promise<AccessApproval | null> {
  if (!target || effectiveConsent(target).consent !== "ASK") return null
  return latestAccessRequest(actorId, target.id)
}

/** The latest access request by this admin for this user, as the policy reads it (consent ASK). */
export async function latestAccessRequest(actorId: number, subjectId: number, client: Tx | typeof db = db): Promise<AccessApproval | null> {
  return client.accessRequest.findFirst({
    where: { actorId, subjectId },
    orderBy: { id: "desc" },
    select: {
      id: true,
      status: true,
      requestExpiresAt: true,
      approvedMode: true,
      expiresAt: true,
      decidedAt: true,
      revokedAt: true,
    },
  })
}

function earliest(a: Date, b: Date | undefined): Date {
  return b && b.getTime() < a.getTime() ? b : a
}

async function startTransaction(args: StartArgs): Promise<Impersonation> {
  const { actorId, subject, grant, reason, ticketUrl, mode, adminSessionHandle, now } = args
  const limit = serverConfig.impersonation.monthlyQuota
  if (adminSessionHandle) replacingSession(adminSessionHandle)
  return db.$transaction(
    async (tx) => {
      // Of concurrent starts from one session, the one that consumes it wins; a sign-out
      // everywhere that comes meanwhile waits for this row (see signOutEverywhere).
      if (adminSessionHandle) {
        const { count } = await tx.session.deleteMany({
          where: { handle: adminSessionHandle, userId: actorId, impersonationId: null },
        })
        if (count !== 1) throw new ConcurrentStartError()
      }
      const claimed = (await args.claim?.(tx)) ?? null
      if (args.approval) {
        // The user may have revoked it since the decision: checked again inside the transaction.
        const live = await tx.accessRequest.findFirst({
          where: { id: args.approval.accessRequestId, status: "APPROVED", expiresAt: { gt: now } },
          select: { id: true },
        })
        if (!live) throw new ImpersonationRefusedError("ACCESS_REVOKED", "The user's approval is no longer valid")
      }
      const organizationId = grant.kind === "ORGANIZATION" ? grant.organizationId : null
      // A browser that never held the admin's session is never handed to the admin (rule 6).
      const handBackToActor = adminSessionHandle !== null
      const data = {
        actorId,
        subjectId: subject.id,
        organizationId,
        reason,
        ticketUrl,
        mode,
        handBackToActor,
        actorTokenId: claimed?.actorTokenId ?? null,
        accessRequestId: args.approval?.accessRequestId ?? null,
        startedAt: now,
        expiresAt: earliest(impersonationExpiresAt(now, serverConfig.impersonation.ttlSeconds), args.approval?.until),
      } satisfies Prisma.ImpersonationUncheckedCreateInput
      // The database keeps one live impersonation per admin: with none live (the usual case) this
      // one statement starts it. Otherwise the one live is ended first (REPLACED) and it is tried again.
      let impersonation = limit === null ? await insertUnlessLive(tx, data) : null
      if (!impersonation) {
        const previous = await tx.impersonation.findMany({ where: { actorId, endedAt: null } })
        for (const row of previous) {
          const expired = row.expiresAt <= now
          // Conditional inside endImpersonation: a Stop or expiry that won the race is kept as is.
          await endImpersonation(row.id, expired ? "EXPIRED" : "REPLACED", {
            endedById: expired ? null : actorId,
            now: expired ? row.expiresAt : now,
            tx,
          })
        }
        // Counted inside the transaction, after the previous one ended: concurrent starts by one
        // admin cannot both pass (the database allows one live row per admin).
        const quota = decideQuota({ limit, usedThisMonth: limit === null ? 0 : await startsThisMonth(actorId, now, tx) })
        if (!quota.allowed) throw new ImpersonationRefusedError(quota.code, quota.message)
        impersonation = await tx.impersonation.create({ data })
      }
      await recordAuditEvent(
        tx,
        {
          action: "IMPERSONATION_STARTED",
          actorId,
          subjectId: subject.id,
          impersonationId: impersonation.id,
          organizationId,
          details: {
            reason,
            ticketUrl,
            mode: impersonation.mode,
            grant,
            expiresAt: impersonation.expiresAt.toISOString(),
            handBackToActor,
            actorTokenId: impersonation.actorTokenId,
            accessRequestId: impersonation.accessRequestId,
            approvedUntil: args.approval?.until.toISOString() ?? null,
          },
        },
        now,
      )
      // The subject's session is created in the same transaction, so that a sign-out everywhere
      // that waited for this start finds it, with the impersonation, and ends both.
      await createSubjectSession(args, impersonation, tx)
      return impersonation
    },
    // A burst of starts from one session queues on the admin session's row: the losers wait for
    // a connection longer than Prisma's 2 s default on a loaded machine (P2028 in the race test).
    { maxWait: START_MAX_WAIT_MS, timeout: START_MAX_WAIT_MS },
  )
}

const START_MAX_WAIT_MS = 15_000

/**
 * The subject's session, in the start's transaction; its row ends with this impersonation. The
 * admin's row was consumed and $create replaces every cookie; any other session this browser
 * held (an actor token redeemed elsewhere) is revoked first.
 */
async function createSubjectSession(args: StartArgs, impersonation: Impersonation, tx: Tx) {
  currentRequestMeta().startedImpersonation = { id: impersonation.id, expiresAt: impersonation.expiresAt }
  await runInDbScope({ transaction: tx }, async () => {
    if (args.adminSessionHandle) sessionConsumed(args.adminSessionHandle)
    else await args.session.$revoke()
    await args.session.$create({
      userId: args.subject.id,
      role: args.subject.role,
      impersonatingFromUserId: args.actorId,
      impersonationId: impersonation.id,
      impersonationExpiresAt: impersonation.expiresAt.toISOString(),
    })
  })
}

/** Inserts the impersonation, or nothing (null) when the admin already has a live one. */
async function insertUnlessLive(tx: Tx, data: Prisma.ImpersonationCreateManyInput): Promise<Impersonation | null> {
  const [row] = await tx.impersonation.createManyAndReturn({ data: [data], skipDuplicates: true })
  return row ?? null
}

/**
 * Starts the impersonation and turns this browser's session into the subject's. Refusals
 * (quota, a lost race, a claim that failed) are ImpersonationRefusedErrors; the caller audits
 * them with `recordRefusedStart`.
 */
export async function startImpersonation(args: StartArgs): Promise<Impersonation> {
  let impersonation: Impersonation
  try {
    impersonation = await startTransaction(args)
  } catch (error) {
    if (!isUniqueViolation(error)) throw error
    throw new ConcurrentStartError()
  }
  return impersonation
}

/**
 * How long a refusal's audit row may wait for a connection: a burst of refused starts (100 from
 * one session in the race test) queues for the pool; Prisma's default 2 s turned the late ones
 * into 500s (P2028) on a loaded machine.
 */
const REFUSAL_AUDIT_MAX_WAIT_MS = 15_000

/** Records a refused start (rule 1), with its code, in the audit log. */
export async function recordRefusedStart(entry: {
  code: RefusalCode | string
  actorId: number | null
  subjectId: number | null
  reason: string
  requested: unknown
  action?: "IMPERSONATION_REFUSED" | "ACTOR_TOKEN_REFUSED"
  details?: Record<string, unknown>
  /** Written in the same transaction as the audit row (a wrong step-up's throttle count). */
  alsoInTransaction?: (tx: Tx) => Promise<void>
}): Promise<void> {
  const event = {
    action: entry.action ?? "IMPERSONATION_REFUSED",
    actorId: entry.actorId,
    subjectId: entry.subjectId,
    impersonationId: null,
    organizationId: null,
    details: { code: entry.code, reason: entry.reason, requested: entry.requested, ...entry.details },
  } as const
  const alsoInTransaction = entry.alsoInTransaction
  // Most refusals change nothing else: their event commits on its own, with other writers'.
  if (!alsoInTransaction) return void (await appendAuditEvent(event))
  await db.$transaction(async (tx) => {
    await alsoInTransaction(tx)
    await recordAuditEvent(tx, event)
  }, { maxWait: REFUSAL_AUDIT_MAX_WAIT_MS, timeout: REFUSAL_AUDIT_MAX_WAIT_MS })
}

type RefusalEntry = Omit<Parameters<typeof recordRefusedStart>[0], "code">

/**
 * Every way in (impersonateUser, actor tokens) decides a start the same way: every other rule
 * first, as if read-only, so a start that cannot happen never checks (or counts) a password;
 * then the step-up for read-write (stepUp.ts). Refusals are audited with `refusal` (never the
 * password; a step-up refusal with its outcome) and thrown. Returns the grant.
 */
export async function decideStartWithStepUp(args: {
  request: StartRequest
  mode: ImpersonationMode
  password: string | undefined
  refusal: RefusalEntry & { details: Record<string, unknown> }
  /**
   * Consent ASK with no live approval: the caller asks the user instead (an access request).
   * Absent: refused and audited like any other refusal.
   */
  onApprovalRequired?: (decision: Extract<StartDecision, { allowed: false }>) => Promise<never>
}): Promise<{ grant: Grant; approval?: ApprovedAccess }> {
  const { request, mode, refusal } = args
  // Every rule but the password, in the mode asked for.
  const eligible = decideImpersonationStart({ ...request, mode, stepUp: "VERIFIED" })
  // Consent ASK with no live approval: the user is asked, after the step-up (below) for read-write.
  const asksUser = !eligible.allowed && eligible.code === "APPROVAL_REQUIRED" && args.onApprovalRequired
  if (!eligible.allowed && !asksUser) {
    await recordRefusedStart({ ...refusal, code: eligible.code })
    throw new ImpersonationRefusedError(eligible.code, eligible.message, refusalMeta(eligible))
  }
  const check = await checkStepUp({
    actorId: request.actor.id,
    mode,
    password: args.password,
    onLocked: () => recordRefusedStart({ ...refusal, code: STEP_UP_THROTTLED }),
  })
  // A read-write request is asked with the admin's own password, as a read-write start is: a
  // session without it cannot send the user a read-write request.
  const decision = asksUser ? decideStepUp(mode, check.stepUp) : decideImpersonationStart({ ...request, mode, stepUp: check.stepUp })
  if (!decision.allowed) {
    await recordRefusedStart({
      ...refusal,
      code: decision.code,
      details: { ...refusal.details, stepUp: check.stepUp },
      alsoInTransaction: check.recordFailure,
    })
    throw new ImpersonationRefusedError(decision.code, decision.message, refusalMeta(decision))
  }
  if (asksUser) return args.onApprovalRequired!(eligible as Extract<StartDecision, { allowed: false }>)
  const started = decision as Extract<StartDecision, { allowed: true }>
  return { grant: started.grant, approval: started.approval }
}

/** What a refusal tells the client besides its code: the request waiting, when to ask again. */
function refusalMeta(decision: Extract<StartDecision, { allowed: false }>): Record<string, unknown> | undefined {
  const meta: Record<string, unknown> = {}
  if (decision.accessRequestId != null) meta.accessRequestId = decision.accessRequestId
  if (decision.retryAfter) meta.retryAfter = decision.retryAfter.toISOString()
  return Object.keys(meta).length ? meta : undefined
}

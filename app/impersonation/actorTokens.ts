import crypto from "node:crypto"
import type { SessionContext } from "@blitzjs/auth"
import { AuthenticationError } from "blitz"
import db, { Prisma, type ActorToken, type Impersonation } from "db"
import { recordAuditEvent } from "app/audit/log"
import { firstRefusalOfLock, loginLockRemainingMs, recordLoginFailure, type ThrottleKey } from "app/auth/loginThrottle"
import { ImpersonationRefusedError } from "app/core/errors"
import { currentRequestMeta } from "app/core/requestContext"
import { serverConfig } from "app/core/serverConfig"
import { sessionHolder, toPolicyUser, userForPolicy, type SessionHolder } from "./guard"
import {
  ACTOR_TOKEN_REFUSAL_MESSAGES,
  actorTokenExpiresAt,
  decideActorTokenRedemption,
  decideImpersonationStart,
  mayRevokeActorToken,
  type ActorTokenRefusalCode,
  type Grant,
  type ImpersonationMode,
  type RedeemingBrowser,
} from "./policy"
import { ACTOR_TOKEN_PATTERN, type CreateActorTokenInput } from "./schemas"
import { decideAdminStart } from "./decideStart"
import { approvalForStart, recordRefusedStart, startImpersonation, startsThisMonth } from "./start"

/**
 * Actor tokens (Clerk's actor tokens, the SaaS console's "open in a new tab"): a single-use,
 * short-lived ticket that starts an impersonation in whichever browser redeems it. Only the
 * SHA-256 of a token is stored; the token itself exists once, in the creation's response.
 */

type Tx = Prisma.TransactionClient

/** 32 random bytes, base64url: what `/impersonate?ticket=` carries. */
export function newActorToken(): string {
  return crypto.randomBytes(32).toString("base64url")
}

export function hashActorToken(token: string): string {
  return crypto.createHash("sha256").update(token, "utf8").digest("hex")
}

export function actorTokenUrl(origin: string, token: string): string {
  return `${origin}/impersonate?ticket=${token}`
}

/** The link's origin could not be known (no APP_ORIGIN and no usable Host header): nothing is created. */
export class LinkOriginUnknownError extends Error {
  name = "LinkOriginUnknownError"
  statusCode = 400
  constructor() {
    super("The request has no valid Host header to build the link from (the server can set APP_ORIGIN)")
  }
}

/** The origin links are built on for this request: APP_ORIGIN, else the request's Host. */
export function linkOrigin(): string {
  const { origin } = currentRequestMeta()
  if (!origin) throw new LinkOriginUnknownError()
  return origin
}

function organizationOf(grant: Grant): number | null {
  return grant.kind === "ORGANIZATION" ? grant.organizationId : null
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

export type CreatedActorToken = {
  id: number
  token: string
  expiresAt: Date
  mode: ImpersonationMode
  subject: { id: number; email: string; name: string }
}

/**
 * Creates a token for `input`'s user after the same policy check as a start (quota included,
 * and the step-up for a read-write token: the admin's password is asked here, at creation,
 * and the token carries the mode): audited ACTOR_TOKEN_CREATED, or ACTOR_TOKEN_REFUSED with
 * the refusal's code.
 */
export async function createActorTokenFor(
  holder: SessionHolder,
  input: CreateActorTokenInput,
  now = new Date(),
): Promise<CreatedActorToken> {
  // An approval is checked again when the link is redeemed (decideTokenStart).
  const { actor, subject, ticketUrl, grant } = await decideAdminStart(
    holder,
    input,
    { action: "ACTOR_TOKEN_REFUSED", details: { stage: "CREATE", ticketUrl: input.ticketUrl ?? null, mode: input.mode } },
    now,
  )
  const { mode } = input
  const token = newActorToken()
  const expiresAt = actorTokenExpiresAt(now, serverConfig.impersonation.actorTokenTtlSeconds)
  const row = await db.$transaction(async (tx) => {
    const created = await tx.actorToken.create({
      data: {
        tokenHash: hashActorToken(token),
        actorId: actor.id,
        subjectId: subject.id,
        reason: input.reason,
        ticketUrl,
        mode,
        createdAt: now,
        expiresAt,
      },
    })
    await recordAuditEvent(
      tx,
      {
        action: "ACTOR_TOKEN_CREATED",
        actorId: actor.id,
        subjectId: subject.id,
        impersonationId: null,
        organizationId: organizationOf(grant),
        details: {
          actorTokenId: created.id,
          reason: input.reason,
          ticketUrl,
          mode: created.mode,
          grant,
          expiresAt: expiresAt.toISOString(),
        },
      },
      now,
    )
    return created
  })
  return {
    id: row.id,
    token,
    expiresAt: row.expiresAt,
    mode: row.mode,
    subject: { id: subject.id, email: subject.email, name: subject.name },
  }
}

// ---------------------------------------------------------------------------------------------
// Reading (the ticket page, the list): never changes anything
// ---------------------------------------------------------------------------------------------

export type PublicActorTokenStatus = "pending" | "used" | "revoked" | "expired"

/** The token's status as people see it: a pending token past its limit is expired. */
export function publicActorTokenStatus(token: Pick<ActorToken, "status" | "expiresAt">, now: Date): PublicActorTokenStatus {
  if (token.status === "USED") return "used"
  if (token.status === "REVOKED") return "revoked"
  return token.expiresAt.getTime() <= now.getTime() ? "expired" : "pending"
}

const person = { select: { id: true, email: true, name: true } } as const

/** The stored token behind a presented ticket, with its admin and user; null if none (or malformed). */
export async function findActorTokenByTicket(ticket: string) {
  if (!ACTOR_TOKEN_PATTERN.test(ticket)) return null
  return db.actorToken.findUnique({
    where: { tokenHash: hashActorToken(ticket) },
    include: { actor: userForPolicy, subject: userForPolicy },
  })
}

const LIST_LIMIT = 100

/** The admin's own tokens, newest first (at most 100), by public status (all when absent). */
export async function listActorTokensOf(actorId: number, status: PublicActorTokenStatus | undefined, now = new Date()) {
  const byStatus: Record<PublicActorTokenStatus, Prisma.ActorTokenWhereInput> = {
    pending: { status: "PENDING", expiresAt: { gt: now } },
    expired: { status: "PENDING", expiresAt: { lte: now } },
    used: { status: "USED" },
    revoked: { status: "REVOKED" },
  }
  const rows = await db.actorToken.findMany({
    where: { actorId, ...(status ? byStatus[status] : {}) },
    orderBy: { id: "desc" },
    take: LIST_LIMIT,
    include: { subject: person, impersonation: { select: { id: true } } },
  })
  return rows.map((row) => ({
    id: row.id,
    status: publicActorTokenStatus(row, now),
    user: row.subject,
    reason: row.reason,
    ticketUrl: row.ticketUrl,
    mode: row.mode,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    usedAt: row.usedAt,
    revokedAt: row.revokedAt,
    impersonationId: row.impersonation?.id ?? null,
  }))
}

// ---------------------------------------------------------------------------------------------
// Revocation
// ---------------------------------------------------------------------------------------------

const REVOKE_REFUSALS = {
  TOKEN_NOT_FOUND: "No actor token with that ID",
  ALREADY_USED: "This link has already been used; end the impersonation under Active impersonations instead",
  ALREADY_REVOKED: "This link has already been revoked",
  EXPIRED: "This link has already expired",
} as const

export type RevokeRefusalCode = keyof typeof REVOKE_REFUSALS

function revokeRefusal(token: Pick<ActorToken, "status" | "expiresAt">, now: Date): ImpersonationRefusedError {
  const status = publicActorTokenStatus(token, now)
  const code: RevokeRefusalCode =
    status === "used" ? "ALREADY_USED" : status === "revoked" ? "ALREADY_REVOKED" : "EXPIRED"
  return new ImpersonationRefusedError(code, REVOKE_REFUSALS[code])
}

/**
 * Revokes a pending token: by the admin who created it, or by a SUPERADMIN. Others learn
 * nothing about it (the same answer as for a missing id). Audited ACTOR_TOKEN_REVOKED.
 */
/** Actor tokens are an admin's tool: a session that is itself an impersonation may not touch them. */
export function refuseWhileImpersonating(holder: SessionHolder): void {
  if (holder.impersonationId !== null) {
    throw new ImpersonationRefusedError("ALREADY_IMPERSONATING", "Actor tokens are not available while impersonating")
  }
}

export async function revokeActorTokenAs(holder: SessionHolder, id: number, now = new Date()) {
  refuseWhileImpersonating(holder)
  const [viewer, token] = await Promise.all([
    db.user.findUnique({ where: { id: holder.userId }, ...userForPolicy }),
    db.actorToken.findUnique({ where: { id } }),
  ])
  if (!viewer) throw new AuthenticationError("Your account no longer exists")
  if (!token || !mayRevokeActorToken(toPolicyUser(viewer), token)) {
    throw new ImpersonationRefusedError("TOKEN_NOT_FOUND", REVOKE_REFUSALS.TOKEN_NOT_FOUND)
  }
  return db.$transaction(async (tx) => {
    // Conditional, so a redemption or another revocation that won the race is kept as is.
    const { count } = await tx.actorToken.updateMany({
      where: { id, status: "PENDING", expiresAt: { gt: now } },
      data: { status: "REVOKED", revokedAt: now, revokedById: viewer.id },
    })
    if (count !== 1) throw revokeRefusal(await tx.actorToken.findUniqueOrThrow({ where: { id } }), now)
    await recordAuditEvent(
      tx,
      {
        action: "ACTOR_TOKEN_REVOKED",
        actorId: token.actorId,
        subjectId: token.subjectId,
        impersonationId: null,
        organizationId: null,
        details: { actorTokenId: id, revokedById: viewer.id, reason: token.reason, ticketUrl: token.ticketUrl },
      },
      now,
    )
    return { id, status: "revoked" as const, revokedAt: now }
  })
}

// ---------------------------------------------------------------------------------------------
// Redemption
// ---------------------------------------------------------------------------------------------

export type Redeemed = {
  impersonation: Impersonation
  subject: { id: number; email: string; name: string }
  actor: { id: number; email: string; name: string }
}

/** What the redemption's decision knows about the browser presenting the ticket. */
export function redeemingBrowser(holder: SessionHolder | null): RedeemingBrowser {
  return holder
    ? { signedIn: true, userId: holder.userId, impersonating: holder.impersonationId !== null }
    : { signedIn: false }
}

/** An address that presented too many unknown tickets is refused for a while (429). */
export class TicketsThrottledError extends ImpersonationRefusedError {
  statusCode = 429
  constructor(remainingMs: number) {
    const minutes = Math.max(1, Math.ceil(remainingMs / 60_000))
    super(
      "THROTTLED",
      `Too many unknown or used links from this address. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
    )
  }
}

/**
 * Unknown tickets, and replays of used, expired or revoked ones, count against the client's
 * address like failed sign-ins (the same limits and table): a token cannot be guessed, but a
 * flood of guesses or replays would otherwise fill the audit log.
 */
const DEAD_TICKET_CODES = new Set(["UNKNOWN", "USED", "EXPIRED", "REVOKED"])

function unknownTicketKeys(): ThrottleKey[] {
  const { ip } = currentRequestMeta()
  if (!ip) return []
  const { ipMaxFailures, windowMs, maxLockMs } = serverConfig.loginThrottle
  return [{ key: `ticket-ip:${ip}`, limits: { maxFailures: ipMaxFailures, windowMs, maxLockMs } }]
}

/**
 * The start policy asked again for a token's admin and user (the ticket page and redemption):
 * the admin's right, the user's eligibility, the off-switch or the quota may have changed.
 * The token's mode: a read-write token passed its step-up at creation (the admin's password,
 * minutes ago; the token is single-use and short-lived).
 */
export async function decideTokenStart(
  token: NonNullable<Awaited<ReturnType<typeof findActorTokenByTicket>>>,
  now: Date,
) {
  return decideImpersonationStart({
    actor: toPolicyUser(token.actor),
    target: toPolicyUser(token.subject),
    alreadyImpersonating: false,
    reason: token.reason,
    enabled: serverConfig.impersonation.enabled,
    quota: {
      limit: serverConfig.impersonation.monthlyQuota,
      usedThisMonth: await startsThisMonth(token.actorId, now),
    },
    mode: token.mode,
    stepUp: "VERIFIED",
    approval: await approvalForStart(token.actorId, toPolicyUser(token.subject)),
    now,
  })
}

/**
 * Starts the impersonation a ticket stands for, in the browser behind `session`: the token is
 * claimed (PENDING -> USED, where not expired) inside the start's transaction, so of concurrent
 * redemptions one wins. Every refusal (the token's state, the browser, the off-switch, the
 * policy or quota at this moment) is audited ACTOR_TOKEN_REFUSED and changes nothing else.
 */
export async function redeemActorTokenIn(session: SessionContext, ticket: string, now = new Date()): Promise<Redeemed> {
  const throttleKeys = unknownTicketKeys()
  const lockedMs = throttleKeys.length ? await loginLockRemainingMs(throttleKeys, now) : 0
  if (lockedMs > 0) {
    // Only the first refusal of each lock is audited: a locked flood cannot fill the log.
    if (await firstRefusalOfLock(throttleKeys, now)) {
      await recordRefusedStart({
        action: "ACTOR_TOKEN_REFUSED",
        code: "THROTTLED",
        actorId: null,
        subjectId: null,
        reason: "",
        requested: { actorTokenId: null },
        details: { stage: "REDEEM" },
      })
    }
    throw new TicketsThrottledError(lockedMs)
  }
  const [token, holder] = await Promise.all([findActorTokenByTicket(ticket), sessionHolder(session)])
  const refuse = async (code: string, message: string): Promise<never> => {
    if (DEAD_TICKET_CODES.has(code) && throttleKeys.length) {
      await db.$transaction((tx) => recordLoginFailure(tx, throttleKeys, now))
    }
    await recordRefusedStart({
      action: "ACTOR_TOKEN_REFUSED",
      code,
      actorId: token?.actorId ?? null,
      subjectId: token?.subjectId ?? null,
      reason: token?.reason ?? "",
      requested: { actorTokenId: token?.id ?? null },
      details: { stage: "REDEEM", ticketUrl: token?.ticketUrl ?? null, presentedByUserId: holder?.userId ?? null },
    })
    throw new ImpersonationRefusedError(code, message)
  }
  const decision = decideActorTokenRedemption({
    token,
    browser: redeemingBrowser(holder),
    now,
    enabled: serverConfig.impersonation.enabled,
  })
  if (!decision.allowed) return refuse(decision.code, decision.message)
  const found = token!
  const start = await decideTokenStart(found, now)
  if (!start.allowed) return refuse(start.code, start.message)
  const grant = start.grant
  try {
    const impersonation = await startImpersonation({
      session,
      actorId: found.actorId,
      subject: found.subject,
      grant,
      reason: found.reason,
      ticketUrl: found.ticketUrl,
      mode: found.mode,
      // The admin's own session is consumed by the start and comes back at Stop; any other
      // browser is signed out at the end (start.ts sets handBackToActor from this).
      adminSessionHandle: decision.handBackToActor ? session.$handle : null,
      claim: (tx) => claimActorToken(tx, found, grant, decision.handBackToActor, now),
      approval: start.approval,
      now,
    })
    return {
      impersonation,
      subject: { id: found.subject.id, email: found.subject.email, name: found.subject.name },
      actor: { id: found.actor.id, email: found.actor.email, name: found.actor.name },
    }
  } catch (error) {
    if (error instanceof ImpersonationRefusedError) return refuse(error.code, error.message)
    throw error
  }
}

/** PENDING -> USED where not expired, first in the start's transaction; any other outcome refuses. */
async function claimActorToken(
  tx: Tx,
  token: ActorToken,
  grant: Grant,
  handBackToActor: boolean,
  now: Date,
): Promise<{ actorTokenId: number }> {
  const { count } = await tx.actorToken.updateMany({
    where: { id: token.id, status: "PENDING", expiresAt: { gt: now } },
    data: { status: "USED", usedAt: now },
  })
  if (count !== 1) {
    // Lost to a concurrent redemption or revocation: name what happened to it.
    const current = await tx.actorToken.findUnique({ where: { id: token.id } })
    const lost = decideActorTokenRedemption({ token: current, browser: { signedIn: false }, now, enabled: true })
    const code: ActorTokenRefusalCode = lost.allowed ? "USED" : lost.code
    throw new ImpersonationRefusedError(code, ACTOR_TOKEN_REFUSAL_MESSAGES[code])
  }
  await recordAuditEvent(
    tx,
    {
      action: "ACTOR_TOKEN_REDEEMED",
      actorId: token.actorId,
      subjectId: token.subjectId,
      impersonationId: null,
      organizationId: organizationOf(grant),
      details: { actorTokenId: token.id, reason: token.reason, ticketUrl: token.ticketUrl, mode: token.mode, handBackToActor },
    },
    now,
  )
  return { actorTokenId: token.id }
}

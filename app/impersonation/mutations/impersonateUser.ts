import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import db from "db"
import { recordAuditEvent } from "app/audit/log"
import { ImpersonationRefusedError, isUniqueViolation } from "app/core/errors"
import { serverConfig } from "app/core/serverConfig"
import { endImpersonation, toPolicyUser, userForPolicy } from "../guard"
import { decideImpersonationStart, impersonationExpiresAt, type Grant, type RefusalCode } from "../policy"
import { ImpersonateUserInput } from "../schemas"

/**
 * Rule 3 and the start transaction of DESIGN.md: end the admin's previous impersonation,
 * create the new row, audit it, all or nothing.
 */
class ConcurrentStartError extends ImpersonationRefusedError {
  constructor() {
    super("CONCURRENT_START", "Another impersonation was started by you at the same moment; try again")
  }
}

async function startImpersonation(args: {
  sessionHandle: string
  actorId: number
  subjectId: number
  grant: Grant
  reason: string
  now: Date
}) {
  const { sessionHandle, actorId, subjectId, grant, reason, now } = args
  return db.$transaction(async (tx) => {
    // The start consumes the admin's session: of concurrent starts from one session, one wins.
    const { count } = await tx.session.deleteMany({
      where: { handle: sessionHandle, userId: actorId, impersonationId: null },
    })
    if (count !== 1) throw new ConcurrentStartError()
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
    const organizationId = grant.kind === "ORGANIZATION" ? grant.organizationId : null
    const impersonation = await tx.impersonation.create({
      data: {
        actorId,
        subjectId,
        organizationId,
        reason,
        mode: "READ_ONLY",
        startedAt: now,
        expiresAt: impersonationExpiresAt(now, serverConfig.impersonation.ttlSeconds),
      },
    })
    await recordAuditEvent(
      tx,
      {
        action: "IMPERSONATION_STARTED",
        actorId,
        subjectId,
        impersonationId: impersonation.id,
        organizationId,
        details: { reason, mode: impersonation.mode, grant, expiresAt: impersonation.expiresAt.toISOString() },
      },
      now,
    )
    return impersonation
  })
}

/** Records a refused start (rule 1) and throws it, in words, to the admin. */
async function refuseStart(
  code: RefusalCode,
  message: string,
  entry: { actorId: number | null; subjectId: number | null; reason: string; requested: unknown },
): Promise<never> {
  await db.$transaction((tx) =>
    recordAuditEvent(tx, {
      action: "IMPERSONATION_REFUSED",
      actorId: entry.actorId,
      subjectId: entry.subjectId,
      impersonationId: null,
      organizationId: null,
      details: { code, reason: entry.reason, requested: entry.requested },
    }),
  )
  throw new ImpersonationRefusedError(code, message)
}

export default resolver.pipe(
  resolver.zod(ImpersonateUserInput),
  resolver.authorize(),
  async (input, ctx) => {
    const now = new Date()
    // The actor is whoever the server's session row names, never what a token claims.
    const sessionRow = await db.session.findUnique({
      where: { handle: ctx.session.$handle! },
      select: { userId: true, impersonationId: true },
    })
    if (!sessionRow?.userId) throw new AuthenticationError("Sign in to impersonate a user")
    const [actor, target] = await Promise.all([
      db.user.findUnique({ where: { id: sessionRow.userId }, ...userForPolicy }),
      db.user.findUnique({
        where: input.userId !== undefined ? { id: input.userId } : { email: input.email! },
        ...userForPolicy,
      }),
    ])
    if (!actor) throw new AuthenticationError("Your account no longer exists")
    const requested = input.userId !== undefined ? { userId: input.userId } : { email: input.email }
    const decision = decideImpersonationStart({
      actor: toPolicyUser(actor),
      target: target && toPolicyUser(target),
      alreadyImpersonating: sessionRow.impersonationId !== null,
      reason: input.reason,
      enabled: serverConfig.impersonation.enabled,
    })
    if (!decision.allowed) {
      return refuseStart(decision.code, decision.message, {
        actorId: actor.id,
        subjectId: target?.id ?? null,
        reason: input.reason,
        requested,
      })
    }
    const subject = target!

    let impersonation
    try {
      impersonation = await startImpersonation({
        sessionHandle: ctx.session.$handle!,
        actorId: actor.id,
        subjectId: subject.id,
        grant: decision.grant,
        reason: input.reason,
        now,
      })
    } catch (error) {
      if (!isUniqueViolation(error)) throw error
      throw new ConcurrentStartError()
    }

    // A new session for the subject (the admin's row is gone: $revoke only resets the cookies).
    await ctx.session.$revoke()
    await ctx.session.$create({
      userId: subject.id,
      role: subject.role,
      impersonatingFromUserId: actor.id,
      impersonationId: impersonation.id,
      impersonationExpiresAt: impersonation.expiresAt.toISOString(),
    })

    return {
      impersonationId: impersonation.id,
      expiresAt: impersonation.expiresAt,
      subject: { id: subject.id, email: subject.email, name: subject.name },
    }
  },
)

import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import db from "db"
import { askUserForAccess } from "app/access/requests"
import { ImpersonationRefusedError } from "app/core/errors"
import { serverConfig } from "app/core/serverConfig"
import { sessionHolder, toPolicyUser, userForPolicy } from "../guard"
import type { StartRequest } from "../policy"
import { ImpersonateUserInput } from "../schemas"
import { decideStartWithStepUp, latestAccessRequest, recordRefusedStart, startImpersonation, startsThisMonth } from "../start"

export default resolver.pipe(
  resolver.zod(ImpersonateUserInput),
  resolver.authorize(),
  async (input, ctx) => {
    const now = new Date()
    // The actor is whoever the server's session row names, never what a token claims.
    const sessionRow = await sessionHolder(ctx.session)
    if (!sessionRow) throw new AuthenticationError("Sign in to impersonate a user")
    const [actor, target, usedThisMonth] = await Promise.all([
      db.user.findUnique({ where: { id: sessionRow.userId }, ...userForPolicy }),
      db.user.findUnique({
        where: input.userId !== undefined ? { id: input.userId } : { email: input.email! },
        ...userForPolicy,
      }),
      startsThisMonth(sessionRow.userId, now),
    ])
    if (!actor) throw new AuthenticationError("Your account no longer exists")
    const { mode } = input
    const requested = input.userId !== undefined ? { userId: input.userId } : { email: input.email }
    const ticketUrl = input.ticketUrl ?? null
    // Never the password: the audit gets the mode and, for a step-up refusal, its outcome.
    const refusal = { actorId: actor.id, subjectId: target?.id ?? null, reason: input.reason, requested, details: { ticketUrl, mode } }
    const request: StartRequest = {
      actor: toPolicyUser(actor),
      target: target && toPolicyUser(target),
      alreadyImpersonating: sessionRow.impersonationId !== null,
      reason: input.reason,
      enabled: serverConfig.impersonation.enabled,
      quota: { limit: serverConfig.impersonation.monthlyQuota, usedThisMonth },
      approval: target ? await latestAccessRequest(actor.id, target.id) : null,
      now,
    }
    const { grant, approval } = await decideStartWithStepUp({
      request,
      mode,
      password: input.password,
      refusal,
      // Consent "Ask me each time" with no live approval: the user is asked (an access request).
      onApprovalRequired: () =>
        askUserForAccess(
          { request, actor, subject: target!, reason: input.reason, ticketUrl, mode, hours: input.hours, refusal },
          now,
        ),
    })
    const subject = target!
    let impersonation
    try {
      impersonation = await startImpersonation({
        session: ctx.session,
        actorId: actor.id,
        subject,
        grant,
        reason: input.reason,
        ticketUrl,
        mode,
        adminSessionHandle: ctx.session.$handle!,
        approval,
        now,
      })
    } catch (error) {
      if (error instanceof ImpersonationRefusedError) await recordRefusedStart({ code: error.code, ...refusal })
      throw error
    }
    return {
      impersonationId: impersonation.id,
      expiresAt: impersonation.expiresAt,
      mode: impersonation.mode,
      subject: { id: subject.id, email: subject.email, name: subject.name },
    }
  },
)

import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import { ImpersonationRefusedError } from "app/core/errors"
import { sessionHolder } from "../guard"
import { ImpersonateUserInput } from "../schemas"
import { decideAdminStart } from "../decideStart"
import { recordRefusedStart, startImpersonation } from "../start"

export default resolver.pipe(
  resolver.zod(ImpersonateUserInput),
  resolver.authorize(),
  async (input, ctx) => {
    const now = new Date()
    // The actor is whoever the server's session row names, never what a token claims.
    const sessionRow = await sessionHolder(ctx.session)
    if (!sessionRow) throw new AuthenticationError("Sign in to impersonate a user")
    const { actor, subject, ticketUrl, audited, grant, approval } = await decideAdminStart(
      sessionRow,
      input,
      { details: { ticketUrl: input.ticketUrl ?? null, mode: input.mode } },
      now,
    )
    const { mode } = input
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
      if (error instanceof ImpersonationRefusedError) await recordRefusedStart({ code: error.code, ...audited })
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

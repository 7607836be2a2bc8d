import { resolver } from "@blitzjs/rpc"
import { redeemActorTokenIn } from "../actorTokens"
import { RedeemActorTokenInput } from "../schemas"

/**
 * The ticket page's "Start". No sign-in needed (the ticket is the credential); a browser that
 * holds a session must be the ticket's own admin's (see decideActorTokenRedemption).
 */
export default resolver.pipe(resolver.zod(RedeemActorTokenInput), async ({ token }, ctx) => {
  const { impersonation, subject } = await redeemActorTokenIn(ctx.session, token)
  return {
    impersonationId: impersonation.id,
    expiresAt: impersonation.expiresAt,
    handBackToActor: impersonation.handBackToActor,
    mode: impersonation.mode,
    user: subject,
  }
})

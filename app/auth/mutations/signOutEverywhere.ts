import { resolver } from "@blitzjs/rpc"
import { z } from "zod"
import { AuthenticationError } from "blitz"
import { ImpersonationRefusedError } from "app/core/errors"
import { sessionHolder, signOutEverywhere as endEverySession } from "app/impersonation/guard"
import { recordSignOut } from "../audit"

/** Signs the user out on every device, and ends every impersonation they started (SIGNED_OUT). */
export default resolver.pipe(
  resolver.zod(z.object({}).strict().nullish()),
  resolver.authorize(),
  async (_, ctx) => {
    const holder = await sessionHolder(ctx.session)
    if (!holder) throw new AuthenticationError("Sign in to sign out everywhere")
    if (holder.impersonationId !== null) {
      // Signing the user out of their own devices is theirs to decide, not support's (read-write
      // included; in read-only the RPC route's gate refuses it first).
      throw new ImpersonationRefusedError(
        "IMPERSONATION_REFUSED_ACTION",
        "Signing out everywhere is not allowed while impersonating",
      )
    }
    const { userId } = holder
    const { sessions, actorTokens } = await endEverySession(userId)
    await ctx.session.$revoke()
    await recordSignOut({ userId }, { everywhere: true, sessions, actorTokensRevoked: actorTokens })
    return { signedOut: true, sessions }
  },
)

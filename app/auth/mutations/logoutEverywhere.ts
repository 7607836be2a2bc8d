import { resolver } from "@blitzjs/rpc"
import { z } from "zod"
import db from "db"
import { ImpersonationRefusedError } from "app/core/errors"
import { signOutEverywhere } from "app/impersonation/guard"
import { recordSignOut } from "../audit"

/** Signs the user out on every device, and ends every impersonation they started. */
export default resolver.pipe(
  resolver.zod(z.object({}).strict().nullish()),
  resolver.authorize(),
  async (_, ctx) => {
    const row = await db.session.findUnique({
      where: { handle: ctx.session.$handle! },
      select: { impersonationId: true },
    })
    if (row?.impersonationId) {
      // Signing the user out of their own devices is theirs to decide, not support's.
      throw new ImpersonationRefusedError(
        "IMPERSONATION_REFUSED_ACTION",
        "Signing out everywhere is not allowed while impersonating",
      )
    }
    const { userId } = ctx.session
    const { sessions, actorTokens } = await signOutEverywhere(userId)
    await ctx.session.$revoke()
    await recordSignOut({ userId }, { everywhere: true, sessions, actorTokensRevoked: actorTokens })
    return { signedOut: true, sessions }
  },
)

import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import { ImpersonationRefusedError } from "app/core/errors"
import { sessionHolder } from "app/impersonation/guard"
import { listLiveAccess, type LiveAccess } from "../live"
import { NoInput } from "../userSideSchemas"

export const LIVE_ACCESS_FOR_USER_ONLY = "Who is in this account is shown to its user only, never to someone acting as them"

/**
 * Who is in the signed-in user's account right now (the live notice, polled every few
 * seconds). Refused to a session that is itself an impersonation: the admin acting as the
 * user must never see, or end, the user's notice about them.
 */
export default resolver.pipe(resolver.zod(NoInput), resolver.authorize(), async (_, ctx): Promise<LiveAccess[]> => {
  const holder = await sessionHolder(ctx.session)
  if (!holder) throw new AuthenticationError("Sign in to see who is in your account")
  if (holder.impersonationId !== null) {
    throw new ImpersonationRefusedError("IMPERSONATION_REFUSED_ACTION", LIVE_ACCESS_FOR_USER_ONLY)
  }
  return listLiveAccess(holder.userId)
})

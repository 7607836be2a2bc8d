import { resolver } from "@blitzjs/rpc"
import { requireOwnSession } from "../userOnly"
import { listLiveAccess, type LiveAccess } from "../live"
import { NoInput } from "../userSideSchemas"


/**
 * Who is in the signed-in user's account right now (the live notice, polled every few
 * seconds). Refused to a session that is itself an impersonation: the admin acting as the
 * user must never see, or end, the user's notice about them.
 */
export default resolver.pipe(resolver.zod(NoInput), resolver.authorize(), async (_, ctx): Promise<LiveAccess[]> => {
  const { userId } = await requireOwnSession(ctx.session, "live")
  return listLiveAccess(userId)
})

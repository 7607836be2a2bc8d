import { resolver } from "@blitzjs/rpc"
import { accessRequestsOf, type AccessRequestsOfUser } from "../requests"
import { NoInput } from "../schemas"

/**
 * The signed-in user's own access requests: waiting for their answer, approvals in force, and
 * those recently answered, revoked or expired (the Security page and the notice on every page).
 */
export default resolver.pipe(resolver.zod(NoInput), resolver.authorize(), async (_, ctx): Promise<AccessRequestsOfUser> => {
  return accessRequestsOf(ctx.session.userId)
})

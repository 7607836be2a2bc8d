import { resolver } from "@blitzjs/rpc"
import { sessionHolder } from "app/impersonation/guard"
import { accessApprovalForAdmin, type AccessApprovalForAdmin } from "../requests"
import { GetAccessApprovalInput } from "../requestSchemas"

/**
 * For the console's dialog: the signed-in admin's own latest access request for this user
 * (waiting, approved until when, ...), or null. Never anyone else's; nothing while impersonating.
 */
export default resolver.pipe(
  resolver.zod(GetAccessApprovalInput),
  resolver.authorize(),
  async ({ userId }, ctx): Promise<AccessApprovalForAdmin> => {
    const holder = await sessionHolder(ctx.session)
    if (!holder || holder.impersonationId !== null) return null
    return accessApprovalForAdmin(holder.userId, userId)
  },
)

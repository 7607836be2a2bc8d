import { resolver } from "@blitzjs/rpc"
import { sessionHolder } from "app/impersonation/guard"
import { accessRequestsOf, type AccessRequestsOfUser } from "../requests"
import { NoInput } from "../requestSchemas"

export type AccessRequestsPanelData = AccessRequestsOfUser & {
  /** False while an admin is impersonating this user: only the user answers (the RPC gate refuses it). */
  canAnswer: boolean
}

/**
 * The signed-in user's own access requests: waiting for their answer, approvals in force, and
 * those recently answered, revoked or expired (the Security page and the notice on every page).
 */
export default resolver.pipe(
  resolver.zod(NoInput),
  resolver.authorize(),
  async (_, ctx): Promise<AccessRequestsPanelData> => {
    const [requests, holder] = await Promise.all([
      accessRequestsOf(ctx.session.userId),
      sessionHolder(ctx.session),
    ])
    return { ...requests, canAnswer: holder !== null && holder.impersonationId === null }
  }
)

import { resolver } from "@blitzjs/rpc"
import { requireOwnSession } from "../userOnly"
import { accessRequestsOf, type AccessRequestsOfUser } from "../requests"
import { NoInput } from "../requestSchemas"

export type AccessRequestsPanelData = AccessRequestsOfUser & {
  /** Always true: the query itself is refused to an admin acting as the user (requireOwnSession). */
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
    // Other admins' requests name them, their reasons and tickets: the user's to read only.
    const { userId } = await requireOwnSession(ctx.session, "requests")
    return { ...(await accessRequestsOf(userId)), canAnswer: true }
  }
)

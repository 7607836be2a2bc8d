import { resolver } from "@blitzjs/rpc"
import { requireOwnSession } from "../userOnly"
import { loadAccessHistory, type AccessHistoryPage } from "../history"
import { GetAccessHistory } from "../userSideSchemas"


/**
 * The signed-in user's access history: every impersonation of them, newest first, a page at a
 * time (default 20, at most 100). Refused to a session that is itself an impersonation: it
 * names the staff who accessed the account and why, which is the user's to read.
 */
export default resolver.pipe(
  resolver.zod(GetAccessHistory),
  resolver.authorize(),
  async (input, ctx): Promise<AccessHistoryPage> => {
    const { userId } = await requireOwnSession(ctx.session, "history")
    return loadAccessHistory(userId, input)
  },
)

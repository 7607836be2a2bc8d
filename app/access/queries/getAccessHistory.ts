import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import { ImpersonationRefusedError } from "app/core/errors"
import { sessionHolder } from "app/impersonation/guard"
import { loadAccessHistory, type AccessHistoryPage } from "../history"
import { GetAccessHistory } from "../userSideSchemas"

export const HISTORY_FOR_USER_ONLY = "The access history is shown to the account's user only, never to someone acting as them"

/**
 * The signed-in user's access history: every impersonation of them, newest first, a page at a
 * time (default 20, at most 100). Refused to a session that is itself an impersonation: it
 * names the staff who accessed the account and why, which is the user's to read.
 */
export default resolver.pipe(
  resolver.zod(GetAccessHistory),
  resolver.authorize(),
  async (input, ctx): Promise<AccessHistoryPage> => {
    const holder = await sessionHolder(ctx.session)
    if (!holder) throw new AuthenticationError("Sign in to see your access history")
    if (holder.impersonationId !== null) {
      throw new ImpersonationRefusedError("IMPERSONATION_REFUSED_ACTION", HISTORY_FOR_USER_ONLY)
    }
    return loadAccessHistory(holder.userId, input)
  },
)

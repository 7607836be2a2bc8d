import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import { sessionHolder } from "app/impersonation/guard"
import { revokeAccessGrantOf } from "../requests"
import { RevokeAccessGrantInput } from "../requestSchemas"

/**
 * The user takes back an approval in force; an impersonation running under it ends now
 * (ENDED_BY_USER). Someone else's approval, or a missing one, is answered "not found".
 */
export default resolver.pipe(resolver.zod(RevokeAccessGrantInput), resolver.authorize(), async ({ id }, ctx) => {
  const holder = await sessionHolder(ctx.session)
  if (!holder) throw new AuthenticationError("Sign in to revoke an approval")
  return revokeAccessGrantOf(holder.userId, id)
})

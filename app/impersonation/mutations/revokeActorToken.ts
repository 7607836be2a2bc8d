import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import { revokeActorTokenAs } from "../actorTokens"
import { sessionHolder } from "../guard"
import { RevokeActorTokenInput } from "../schemas"

/** Kills a link that has not been used yet: its admin's, or any for a SUPERADMIN. */
export default resolver.pipe(resolver.zod(RevokeActorTokenInput), resolver.authorize(), async ({ id }, ctx) => {
  const holder = await sessionHolder(ctx.session)
  if (!holder) throw new AuthenticationError("Sign in to revoke an impersonation link")
  return revokeActorTokenAs(holder, id)
})

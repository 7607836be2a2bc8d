import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import { actorTokenUrl, createActorTokenFor, linkOrigin } from "../actorTokens"
import { sessionHolder } from "../guard"
import { CreateActorTokenInput } from "../schemas"

/**
 * The console dialog's "Open in new tab": a single-use link that starts the impersonation where
 * it is opened, in the mode chosen here (read-write after the step-up, at creation).
 */
export default resolver.pipe(resolver.zod(CreateActorTokenInput), resolver.authorize(), async (input, ctx) => {
  const holder = await sessionHolder(ctx.session)
  if (!holder) throw new AuthenticationError("Sign in to create an impersonation link")
  const origin = linkOrigin()
  const created = await createActorTokenFor(holder, input)
  return {
    id: created.id,
    token: created.token,
    url: actorTokenUrl(origin, created.token),
    expiresAt: created.expiresAt,
    mode: created.mode,
  }
})

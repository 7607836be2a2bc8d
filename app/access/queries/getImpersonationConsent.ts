import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import { sessionHolder } from "app/impersonation/guard"
import { loadConsentState, type ConsentState } from "../consent"
import { NoInput } from "../userSideSchemas"

/** The Security page's consent section: the signed-in user's setting and the one that applies. */
export default resolver.pipe(resolver.zod(NoInput), resolver.authorize(), async (_, ctx): Promise<ConsentState> => {
  const holder = await sessionHolder(ctx.session)
  if (!holder) throw new AuthenticationError("Sign in to see your security settings")
  const state = await loadConsentState(holder.userId, holder.impersonationId !== null)
  if (!state) throw new AuthenticationError("Sign in to see your security settings")
  return state
})

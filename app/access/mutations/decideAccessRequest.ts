import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import db from "db"
import { sessionHolder } from "app/impersonation/guard"
import { answerAccessRequest } from "../requests"
import { DecideAccessRequestInput } from "../requestSchemas"

/**
 * The user approves or denies an access request made to them (never while impersonated: the
 * RPC gate refuses it in every mode, blitz.config.ts). Someone else's request, or a missing
 * one, is answered "not found".
 */
export default resolver.pipe(resolver.zod(DecideAccessRequestInput), resolver.authorize(), async (input, ctx) => {
  const holder = await sessionHolder(ctx.session)
  if (!holder) throw new AuthenticationError("Sign in to answer access requests")
  // Defaults: the hours asked, read-only (the narrowest mode).
  const asked = await db.accessRequest.findUnique({ where: { id: input.id }, select: { hours: true } })
  return answerAccessRequest(holder.userId, {
    id: input.id,
    decision: input.decision,
    hours: input.hours ?? asked?.hours ?? 1,
    mode: input.mode ?? "READ_ONLY",
  })
})

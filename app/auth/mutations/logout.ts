import { resolver } from "@blitzjs/rpc"
import { z } from "zod"
import { endSessionImpersonation } from "app/impersonation/guard"
import { recordSignOut } from "../audit"

export default resolver.pipe(resolver.zod(z.object({}).strict().nullish()), async (_, ctx) => {
  const { userId, impersonatingFromUserId, impersonationId } = ctx.session
  await endSessionImpersonation(ctx.session.$handle, "SIGNED_OUT")
  await ctx.session.$revoke()
  if (userId) await recordSignOut({ userId, impersonatingFromUserId, impersonationId })
  return { signedOut: true }
})

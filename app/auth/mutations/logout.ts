import { resolver } from "@blitzjs/rpc"
import { z } from "zod"
import { endSessionImpersonation } from "app/impersonation/guard"

export default resolver.pipe(resolver.zod(z.object({}).strict().nullish()), async (_, ctx) => {
  await endSessionImpersonation(ctx.session.$handle, "SIGNED_OUT")
  await ctx.session.$revoke()
  return { signedOut: true }
})

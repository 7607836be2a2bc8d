import { resolver } from "@blitzjs/rpc"
import { findSessionImpersonation, stopSessionImpersonation, toPolicyUser } from "../guard"
import { mayReturnToActor } from "../policy"
import { StopImpersonatingInput } from "../schemas"

export type StopResult =
  | { status: "RESTORED"; userId: number }
  | { status: "SIGNED_OUT"; message: string }
  | { status: "NOT_IMPERSONATING"; message: string }

export default resolver.pipe(
  resolver.zod(StopImpersonatingInput),
  async (_input, ctx): Promise<StopResult> => {
    const handle = ctx.session.$handle
    // Whom to return to comes only from the server's row for this session (never the request).
    const impersonation = handle ? await findSessionImpersonation(handle) : null
    if (!impersonation) {
      return { status: "NOT_IMPERSONATING", message: "You are not impersonating anyone" }
    }
    // This session's link is consumed with the end: of two tabs pressing Stop at once (or a
    // Stop meeting the guard's hand-back at the time limit), one hands the browser back and the
    // other leaves the session alone, so one Stop never leaves two admin sessions.
    const consumed = await stopSessionImpersonation(handle!, impersonation)
    if (!consumed) {
      return { status: "NOT_IMPERSONATING", message: "This impersonation was already ended in another tab or at its time limit" }
    }
    // A browser that redeemed an actor token without the admin's own session is never handed
    // to the admin: a 5-minute ticket must not become an admin session on another device.
    if (!impersonation.handBackToActor) {
      await ctx.session.$revoke() // the row is gone: this resets the cookies
      return { status: "SIGNED_OUT", message: "Impersonation ended. This browser was not signed in as you, so it is now signed out" }
    }
    const actor = toPolicyUser(impersonation.actor)
    if (!mayReturnToActor(actor)) {
      await ctx.session.$revoke()
      return {
        status: "SIGNED_OUT",
        message: "Your admin account can no longer impersonate, so you have been signed out",
      }
    }
    // $create replaces every cookie of the consumed session.
    await ctx.session.$create({ userId: actor.id, role: actor.role })
    return { status: "RESTORED", userId: actor.id }
  },
)

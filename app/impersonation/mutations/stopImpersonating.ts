import { resolver } from "@blitzjs/rpc"
import db from "db"
import { findSessionImpersonation, recordImpersonationEnded, replacingSession, sessionConsumed, toPolicyUser } from "../guard"
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
    const now = new Date()
    replacingSession(handle!)
    const consumed = await db.$transaction(async (tx) => {
      // One statement: the link is consumed and, if it was, the impersonation ended (conditional,
      // so an end that won the race, such as the guard's at the time limit, is kept as is).
      const [outcome] = await tx.$queryRaw<{ consumed: boolean; ended: boolean }[]>`
        WITH consumed AS (
          DELETE FROM "Session" WHERE "handle" = ${handle} AND "impersonationId" = ${impersonation.id}
          RETURNING "impersonationId"
        ), ended AS (
          UPDATE "Impersonation"
          SET "endedAt" = ${now.toISOString()}::timestamp(3), "endReason" = 'STOPPED', "endedById" = "actorId"
          WHERE "id" IN (SELECT "impersonationId" FROM consumed) AND "endedAt" IS NULL
          RETURNING "id"
        )
        SELECT EXISTS (SELECT 1 FROM consumed) AS consumed, EXISTS (SELECT 1 FROM ended) AS ended`
      if (outcome?.ended) {
        await recordImpersonationEnded(tx, { ...impersonation, endReason: "STOPPED", endedById: impersonation.actorId, endedAt: now })
      }
      return Boolean(outcome?.consumed)
    })
    if (!consumed) {
      return { status: "NOT_IMPERSONATING", message: "This impersonation was already ended in another tab or at its time limit" }
    }
    sessionConsumed(handle!)
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

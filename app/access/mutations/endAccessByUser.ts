import { resolver } from "@blitzjs/rpc"
import { AuthenticationError, NotFoundError } from "blitz"
import db from "db"
import { endImpersonation, sessionHolder } from "app/impersonation/guard"
import { EndAccessByUser } from "../userSideSchemas"

export type EndAccessResult = { endedIds: number[] }

/**
 * "End access": the impersonated user ends an impersonation of their own account (`id`), or
 * every live one (no id), each once and audited (ENDED_BY_USER, ended by the user). The
 * admin's browser is back to the admin at its next request, as after any other end. An id that
 * is not an impersonation of this user gets the answer an unknown id gets; one that is already
 * over ends nothing. Refused while impersonating by the RPC gate (blitz.config.ts).
 */
export default resolver.pipe(
  resolver.zod(EndAccessByUser),
  resolver.authorize(),
  async ({ id }, ctx): Promise<EndAccessResult> => {
    const holder = await sessionHolder(ctx.session)
    if (!holder) throw new AuthenticationError("Sign in to end access to your account")
    const userId = holder.userId
    const now = new Date()
    if (id !== undefined) {
      const own = await db.impersonation.findFirst({ where: { id, subjectId: userId }, select: { id: true } })
      if (!own) throw new NotFoundError("There is no access to your account with that ID")
    }
    const live = await db.impersonation.findMany({
      where: { subjectId: userId, endedAt: null, expiresAt: { gt: now }, ...(id !== undefined ? { id } : {}) },
      select: { id: true },
      orderBy: { id: "asc" },
    })
    const endedIds: number[] = []
    await db.$transaction(async (tx) => {
      for (const row of live) {
        // Conditional on the row still being live: an End racing another end records one.
        if (await endImpersonation(row.id, "ENDED_BY_USER", { endedById: userId, now, tx })) endedIds.push(row.id)
      }
    })
    return { endedIds }
  },
)

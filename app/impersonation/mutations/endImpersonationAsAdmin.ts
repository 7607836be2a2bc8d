import { resolver } from "@blitzjs/rpc"
import { AuthenticationError, NotFoundError } from "blitz"
import db from "db"
import { ImpersonationRefusedError } from "app/core/errors"
import { endImpersonation, sessionHolder, toPolicyUser, userForPolicy } from "../guard"
import { END_REFUSAL_MESSAGES, decideEndImpersonation } from "../policy"
import { EndImpersonationAsAdminInput } from "../schemas"

export type EndAsAdminResult =
  | { status: "ENDED"; impersonationId: number }
  | { status: "ALREADY_ENDED"; impersonationId: number; message: string }

/**
 * "End" under Active impersonations. The impersonated browser notices at its next request
 * (the guard reads the row every time), on whichever instance serves it.
 */
export default resolver.pipe(
  resolver.zod(EndImpersonationAsAdminInput),
  resolver.authorize(),
  async ({ impersonationId }, ctx): Promise<EndAsAdminResult> => {
    const now = new Date()
    // Who is asking comes from the server's session row and a fresh user row, never public data.
    const sessionRow = await sessionHolder(ctx.session)
    if (!sessionRow) throw new AuthenticationError("Sign in to end an impersonation")
    const [viewer, impersonation] = await Promise.all([
      db.user.findUnique({ where: { id: sessionRow.userId }, ...userForPolicy }),
      db.impersonation.findUnique({
        where: { id: impersonationId },
        select: { actorId: true, organizationId: true, endedAt: true, expiresAt: true },
      }),
    ])
    const decision = decideEndImpersonation({
      viewer: viewer && toPolicyUser(viewer),
      viewerIsImpersonating: sessionRow.impersonationId !== null,
      impersonation,
      now,
    })
    if (!decision.allowed) {
      if (decision.code === "ALREADY_ENDED") {
        return { status: "ALREADY_ENDED", impersonationId, message: decision.message }
      }
      if (decision.code === "NOT_FOUND") {
        throw Object.assign(new NotFoundError(decision.message), { code: decision.code })
      }
      throw new ImpersonationRefusedError(decision.code, decision.message)
    }
    // Conditional on the row still being live: of two Ends at once, one records it.
    const ended = await endImpersonation(impersonationId, "ENDED_BY_ADMIN", { endedById: viewer!.id, now })
    if (!ended) {
      return { status: "ALREADY_ENDED", impersonationId, message: END_REFUSAL_MESSAGES.ALREADY_ENDED }
    }
    return { status: "ENDED", impersonationId }
  },
)

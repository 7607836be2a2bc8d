import { z } from "zod"
import { revokeActorTokenAs } from "app/impersonation/actorTokens"
import { actorTokenId } from "app/impersonation/schemas"
import { apiJson, apiRoute, parseInput, requireHolder } from "../../http"

const IdSegment = z.object({
  id: z
    .string()
    .regex(/^\d{1,10}$/, "The token ID in the path must be a whole number")
    .transform(Number)
    .pipe(actorTokenId),
})

const STATUS: Record<string, number> = { TOKEN_NOT_FOUND: 404, ALREADY_USED: 409, ALREADY_REVOKED: 409, EXPIRED: 409 }

/** POST /api/actor-tokens/{id}/revoke -> 200 {id, status: "revoked", revokedAt} */
export const POST = apiRoute<{ id: string }>(
  { body: "none", refusalStatus: (code) => STATUS[code] },
  async ({ session, params }) => {
    const holder = await requireHolder(session)
    const { id } = parseInput(IdSegment, params)
    const revoked = await revokeActorTokenAs(holder, id)
    return apiJson(200, { ...revoked, revokedAt: revoked.revokedAt.toISOString() })
  },
)

import { redeemActorTokenIn } from "app/impersonation/actorTokens"
import { RedeemActorTokenInput } from "app/impersonation/schemas"
import { apiJson, apiRoute, parseInput } from "../http"

// Unknown ticket: 404; a ticket that existed but can no longer be used: 410; a lost race: 409;
// an address that presented too many unknown tickets: 429.
const STATUS: Record<string, number> = {
  UNKNOWN: 404,
  USED: 410,
  REVOKED: 410,
  EXPIRED: 410,
  CONCURRENT_START: 409,
  THROTTLED: 429,
}

/**
 * POST /api/actor-tokens/redeem {token} -> 200 and the user's session cookies. No session
 * needed (the ticket is the credential); a caller holding one must be the ticket's admin.
 */
export const POST = apiRoute({ body: "json", refusalStatus: (code) => STATUS[code] }, async ({ session, body }) => {
  const { token } = parseInput(RedeemActorTokenInput, body)
  const { impersonation, subject, actor } = await redeemActorTokenIn(session, token)
  return apiJson(200, {
    impersonationId: impersonation.id,
    expiresAt: impersonation.expiresAt.toISOString(),
    handBackToActor: impersonation.handBackToActor,
    mode: impersonation.mode,
    user: subject,
    actor,
  })
})

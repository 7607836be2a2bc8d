import { actorTokenUrl, createActorTokenFor, linkOrigin, listActorTokensOf, refuseWhileImpersonating } from "app/impersonation/actorTokens"
import { ActorTokenListStatus, CreateActorTokenInput } from "app/impersonation/schemas"
import { STEP_UP_THROTTLED } from "app/impersonation/stepUp"
import { apiJson, apiRoute, parseInput, requireHolder } from "./http"

// A read-write token's step-up refused while the admin's sign-in throttle is locked: 429.
const STATUS: Record<string, number> = { [STEP_UP_THROTTLED]: 429 }

/**
 * POST /api/actor-tokens {userId | email, reason, ticketUrl?, mode?, password?}
 * -> 201 {id, token, url, expiresAt, mode}. READ_WRITE needs `password` (the admin's own).
 */
export const POST = apiRoute({ body: "json", refusalStatus: (code) => STATUS[code] }, async ({ session, body }) => {
  const holder = await requireHolder(session)
  const input = parseInput(CreateActorTokenInput, body)
  const origin = linkOrigin()
  const created = await createActorTokenFor(holder, input)
  return apiJson(201, {
    id: created.id,
    token: created.token,
    url: actorTokenUrl(origin, created.token),
    expiresAt: created.expiresAt.toISOString(),
    mode: created.mode,
  })
})

/** GET /api/actor-tokens?status=pending|used|revoked|expired -> the admin's own tokens, newest first. */
export const GET = apiRoute({ body: "none" }, async ({ request, session }) => {
  const holder = await requireHolder(session)
  refuseWhileImpersonating(holder)
  const status = parseInput(ActorTokenListStatus, new URL(request.url).searchParams.get("status") ?? undefined)
  const tokens = await listActorTokensOf(holder.userId, status)
  return apiJson(200, {
    tokens: tokens.map((token) => ({
      ...token,
      createdAt: token.createdAt.toISOString(),
      expiresAt: token.expiresAt.toISOString(),
      usedAt: token.usedAt?.toISOString() ?? null,
      revokedAt: token.revokedAt?.toISOString() ?? null,
    })),
  })
})

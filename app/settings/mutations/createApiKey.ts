import { resolver } from "@blitzjs/rpc"
import db from "db"
import { MAX_ACTIVE_API_KEYS, apiKeyLastChars, generateApiKey, hashApiKey } from "../apiKeys"
import { CreateApiKey } from "../schemas"

export class TooManyApiKeysError extends Error {
  name = "TooManyApiKeysError"
  statusCode = 409
  constructor() {
    super(`You have ${MAX_ACTIVE_API_KEYS} active API keys; revoke one before you create another`)
  }
}

/**
 * A new personal API key. The answer carries the key itself, this once: only its SHA-256 is
 * stored (and its last 4 characters, to recognise it), so it can never be shown again.
 */
export default resolver.pipe(resolver.zod(CreateApiKey), resolver.authorize(), async ({ name }, ctx) => {
  const userId = ctx.session.userId
  const active = await db.apiKey.count({ where: { userId, revokedAt: null } })
  if (active >= MAX_ACTIVE_API_KEYS) throw new TooManyApiKeysError()
  const key = generateApiKey()
  const row = await db.apiKey.create({
    data: { userId, name, hashedKey: hashApiKey(key), lastChars: apiKeyLastChars(key) },
    select: { id: true, name: true, lastChars: true, createdAt: true, revokedAt: true },
  })
  return { ...row, key }
})

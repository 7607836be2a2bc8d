import { resolver } from "@blitzjs/rpc"
import { NotFoundError } from "blitz"
import db from "db"
import { RevokeApiKey } from "../schemas"

const summary = { id: true, name: true, lastChars: true, createdAt: true, revokedAt: true } as const

/** Revokes one of the signed-in user's own API keys; revoking it again changes nothing. */
export default resolver.pipe(resolver.zod(RevokeApiKey), resolver.authorize(), async ({ id }, ctx) => {
  const userId = ctx.session.userId
  // Someone else's key is answered like a missing one.
  const { count } = await db.apiKey.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } })
  const key = await db.apiKey.findFirst({ where: { id, userId }, select: summary })
  if (!key) throw new NotFoundError("You have no API key with that ID")
  return { ...key, revokedNow: count > 0 }
})

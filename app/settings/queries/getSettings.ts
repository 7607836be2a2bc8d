import { resolver } from "@blitzjs/rpc"
import { NotFoundError } from "blitz"
import db from "db"
import { NoInput } from "../schemas"

export type ApiKeySummary = { id: number; name: string; lastChars: string; createdAt: Date; revokedAt: Date | null }

export type Settings = {
  id: number
  name: string
  email: string
  /** Masked ("•••• 1234") while impersonating, like every sensitive field (db/index.ts). */
  phone: string | null
  lastSeenAt: Date | null
  createdAt: Date
  apiKeys: ApiKeySummary[]
  organizations: Array<{ id: number; name: string; role: "OWNER" | "ADMIN" | "MEMBER" }>
}

/** The Settings page's data for the signed-in user (while impersonating: the user's, masked). */
export default resolver.pipe(resolver.zod(NoInput), resolver.authorize(), async (_, ctx): Promise<Settings> => {
  const user = await db.user.findUnique({
    where: { id: ctx.session.userId },
    select: {
      id: true,
      name: true,
      email: true,
      phone: true,
      lastSeenAt: true,
      createdAt: true,
      apiKeys: {
        select: { id: true, name: true, lastChars: true, createdAt: true, revokedAt: true },
        orderBy: { id: "desc" },
      },
      memberships: {
        select: { role: true, organization: { select: { id: true, name: true } } },
        orderBy: { organizationId: "asc" },
      },
    },
  })
  if (!user) throw new NotFoundError("Your account no longer exists")
  const { memberships, ...settings } = user
  return { ...settings, organizations: memberships.map(({ role, organization }) => ({ ...organization, role })) }
})

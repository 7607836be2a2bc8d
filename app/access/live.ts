import db from "db"

/** One impersonation of the signed-in user going on now: what the live notice tells them. */
export type LiveAccess = {
  id: number
  /** Who is in the account: the admin's name (and whether platform support or an organization admin). */
  admin: { name: string }
  organization: { name: string } | null
  startedAt: Date
  expiresAt: Date
  reason: string
  ticketUrl: string | null
  mode: "READ_ONLY" | "READ_WRITE"
}

/** Live impersonations never number more than one per admin; this bounds a hostile count. */
const LIVE_ACCESS_SHOWN = 50

/**
 * Impersonations of `userId` that are on now: not ended, and not past their time limit (one
 * past it is over whether or not a request has recorded the expiry yet). Newest first.
 */
export async function listLiveAccess(userId: number, now = new Date()): Promise<LiveAccess[]> {
  const rows = await db.impersonation.findMany({
    where: { subjectId: userId, endedAt: null, expiresAt: { gt: now } },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    take: LIVE_ACCESS_SHOWN,
    select: {
      id: true,
      startedAt: true,
      expiresAt: true,
      reason: true,
      ticketUrl: true,
      mode: true,
      actor: { select: { name: true } },
      organization: { select: { name: true } },
    },
  })
  return rows.map(({ actor, ...row }) => ({ ...row, admin: { name: actor.name } }))
}

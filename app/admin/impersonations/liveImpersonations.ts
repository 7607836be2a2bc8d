import db, { type Prisma } from "db"
import {
  consoleScope,
  isActiveImpersonator,
  mayEndImpersonation,
  type PolicyUser,
} from "app/impersonation/policy"

/** At most this many rows are shown (one live impersonation per admin keeps it small). */
export const LIVE_IMPERSONATIONS_SHOWN = 200

export type LiveImpersonation = {
  id: number
  admin: { id: number; name: string; email: string }
  user: { id: number; name: string; email: string }
  organization: { id: number; name: string } | null
  reason: string
  ticketUrl: string | null
  mode: "READ_ONLY" | "READ_WRITE"
  startedAt: Date
  expiresAt: Date
  /** Whether this viewer may press End on it (the mutation checks again). */
  mayEnd: boolean
}

/** `mayViewImpersonation` from the policy, as a database filter; null: nothing at all. */
function visibleTo(viewer: PolicyUser): Prisma.ImpersonationWhereInput | null {
  if (!isActiveImpersonator(viewer)) return null
  const scope = consoleScope(viewer)
  if (scope.wholePlatform) return {}
  const { organizationIds } = scope
  return {
    OR: [{ actorId: viewer.id }, ...(organizationIds.length ? [{ organizationId: { in: organizationIds } }] : [])],
  }
}

const person = { select: { id: true, name: true, email: true } } as const

/**
 * The impersonations in progress (not ended, time left) that `viewer` may see, newest first:
 * what /admin/impersonations lists.
 */
export async function listLiveImpersonations(viewer: PolicyUser, now = new Date()): Promise<LiveImpersonation[]> {
  const scope = visibleTo(viewer)
  if (!scope) return []
  const rows = await db.impersonation.findMany({
    where: { AND: [scope, { endedAt: null, expiresAt: { gt: now } }] },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    take: LIVE_IMPERSONATIONS_SHOWN,
    select: {
      id: true,
      actorId: true,
      reason: true,
      ticketUrl: true,
      mode: true,
      startedAt: true,
      expiresAt: true,
      actor: person,
      subject: person,
      organization: { select: { id: true, name: true } },
    },
  })
  return rows.map(({ actor, subject, actorId, ...row }) => ({
    ...row,
    admin: actor,
    user: subject,
    mayEnd: mayEndImpersonation(viewer, { actorId }),
  }))
}

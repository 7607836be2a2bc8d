import { NotFoundError } from "blitz"
import db, { Prisma } from "db"
import type { EndReason, ImpersonationMode } from "app/impersonation/policy"
import { ACCESS_HISTORY_PAGE_SIZE } from "./userSideSchemas"

/** One impersonation of the user, as their access history shows it. */
export type AccessHistoryEntry = {
  id: number
  admin: { name: string; email: string }
  /** The organization whose role let the admin in; null for platform support. */
  organization: { name: string } | null
  startedAt: Date
  /** When it ended (an expiry noticed late counts at its time limit); null while ongoing. */
  endedAt: Date | null
  /** endedAt - startedAt; null while ongoing. */
  durationMs: number | null
  reason: string
  ticketUrl: string | null
  mode: ImpersonationMode
  /** Changes made in the account (IMPERSONATED_MUTATION events that were allowed). */
  changes: number
  /** Masked values revealed (SENSITIVE_FIELD_REVEALED). */
  reveals: number
  /** How it ended; null while ongoing. */
  endReason: EndReason | null
  /** The user's approval it ran under (consent "Ask me each time"), if any, and whether they revoked it since. */
  approval: { until: Date | null; revokedAt: Date | null } | null
}

export type AccessHistoryPage = {
  entries: AccessHistoryEntry[]
  /** Cursors for `before` (older entries) and `after` (newer entries); null: no such page. */
  olderCursor: number | null
  newerCursor: number | null
}

const selectEntry = {
  id: true,
  startedAt: true,
  expiresAt: true,
  endedAt: true,
  endReason: true,
  reason: true,
  ticketUrl: true,
  mode: true,
  accessRequestId: true,
  actor: { select: { name: true, email: true } },
  organization: { select: { name: true } },
  accessRequest: { select: { expiresAt: true, revokedAt: true } },
} satisfies Prisma.ImpersonationSelect

/**
 * How many allowed changes and reveals each impersonation made: one grouped query for the
 * page's ids (served by the AuditEvent(impersonationId) index), never one per row.
 */
async function countChangesAndReveals(ids: number[]): Promise<Map<number, { changes: number; reveals: number }>> {
  const counts = new Map<number, { changes: number; reveals: number }>()
  if (ids.length === 0) return counts
  const rows = await db.$queryRaw<{ impersonationId: number; changes: number; reveals: number }[]>`
    SELECT "impersonationId",
      (COUNT(*) FILTER (WHERE "action" = 'IMPERSONATED_MUTATION' AND "details"->>'outcome' = 'ALLOWED'))::int AS "changes",
      (COUNT(*) FILTER (WHERE "action" = 'SENSITIVE_FIELD_REVEALED'))::int AS "reveals"
    FROM "AuditEvent"
    WHERE "impersonationId" IN (${Prisma.join(ids)})
      AND "action" IN ('IMPERSONATED_MUTATION', 'SENSITIVE_FIELD_REVEALED')
    GROUP BY "impersonationId"`
  for (const row of rows) counts.set(Number(row.impersonationId), { changes: Number(row.changes), reveals: Number(row.reveals) })
  return counts
}

/**
 * A page of every impersonation of `userId`, newest first (by start, then id), with keyset
 * paging: `before` an entry gives the older page after it, `after` an entry the newer page
 * before it. A cursor that is not an impersonation of this user is answered as unknown.
 */
export async function loadAccessHistory(
  userId: number,
  { before, after, take = ACCESS_HISTORY_PAGE_SIZE }: { before?: number; after?: number; take?: number },
  now = new Date(),
): Promise<AccessHistoryPage> {
  const cursorId = before ?? after
  let where: Prisma.ImpersonationWhereInput = { subjectId: userId }
  if (cursorId !== undefined) {
    const cursor = await db.impersonation.findFirst({ where: { id: cursorId, subjectId: userId }, select: { startedAt: true } })
    if (!cursor) throw new NotFoundError("No page of your access history starts there")
    const s = cursor.startedAt
    where =
      before !== undefined
        ? { subjectId: userId, OR: [{ startedAt: { lt: s } }, { startedAt: s, id: { lt: cursorId } }] }
        : { subjectId: userId, OR: [{ startedAt: { gt: s } }, { startedAt: s, id: { gt: cursorId } }] }
  }
  const newerFirst = after === undefined
  const order = newerFirst ? "desc" : "asc"
  const fetched = await db.impersonation.findMany({
    where,
    orderBy: [{ startedAt: order }, { id: order }],
    take: take + 1,
    select: selectEntry,
  })
  const more = fetched.length > take
  const rows = fetched.slice(0, take)
  if (!newerFirst) rows.reverse()
  const counts = await countChangesAndReveals(rows.map((r) => r.id))
  const entries = rows.map((row): AccessHistoryEntry => {
    // Past its time limit it is over, whether or not a request has recorded the expiry yet.
    const overUnrecorded = row.endedAt === null && row.expiresAt.getTime() <= now.getTime()
    const endedAt = row.endedAt ?? (overUnrecorded ? row.expiresAt : null)
    const endReason: EndReason | null = row.endReason ?? (overUnrecorded ? "EXPIRED" : row.endedAt ? "STOPPED" : null)
    const count = counts.get(row.id) ?? { changes: 0, reveals: 0 }
    return {
      id: row.id,
      admin: row.actor,
      organization: row.organization,
      startedAt: row.startedAt,
      endedAt,
      durationMs: endedAt ? endedAt.getTime() - row.startedAt.getTime() : null,
      reason: row.reason,
      ticketUrl: row.ticketUrl,
      mode: row.mode,
      changes: count.changes,
      reveals: count.reveals,
      endReason,
      approval:
        row.accessRequestId !== null
          ? { until: row.accessRequest?.expiresAt ?? null, revokedAt: row.accessRequest?.revokedAt ?? null }
          : null,
    }
  })
  const first = entries[0]?.id ?? null
  const last = entries.at(-1)?.id ?? null
  return {
    entries,
    olderCursor: (newerFirst ? more : true) ? last : null,
    newerCursor: (newerFirst ? before !== undefined : more) ? first : null,
  }
}

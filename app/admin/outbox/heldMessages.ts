import db from "db"
import type { PolicyUser } from "app/impersonation/policy"

/**
 * The admin's outbox (rule 9): emails the app wrote on a user's behalf during an
 * impersonation, HELD by mailers/outbox.ts and never delivered. Nothing here sends them.
 */

export const OUTBOX_PAGE_SIZE = 50

/**
 * Each admin sees the messages held in their own impersonations; a SUPERADMIN sees every
 * admin's (the same oversight as ending anyone's impersonation). Support staff and organization
 * admins do not see each other's: a held message is the user's mail, shown only to the person
 * who caused it, not to everyone who may read the audit log.
 */
export function seesEveryOutbox(viewer: PolicyUser): boolean {
  return viewer.role === "SUPERADMIN" && viewer.status === "ACTIVE"
}

type Person = { id: number; name: string; email: string }

export type HeldMessage = {
  id: number
  createdAt: Date
  to: string
  subject: string
  text: string
  impersonationId: number | null
  /** The impersonated user on whose behalf it was written. */
  user: Person | null
  /** The admin whose impersonation held it. */
  admin: Person | null
}

export type HeldMessagesPage = {
  messages: HeldMessage[]
  /** The cursor for the next (older) page; null on the last page. */
  olderThan: number | null
}

/** `?before=` as the page reads it: a positive id, or undefined (newest first). Null: not valid. */
export function parseOutboxCursor(value: string | string[] | undefined): number | undefined | null {
  if (value === undefined || value === "") return undefined
  if (typeof value !== "string" || !/^\d{1,10}$/.test(value)) return null
  const id = Number(value)
  return id >= 1 && id <= 2_147_483_647 ? id : null
}

/** One page of held messages `viewer` may see, newest first, keyset-paged on id. */
export async function listHeldMessages(
  viewer: PolicyUser,
  page: { before?: number } = {},
  pageSize = OUTBOX_PAGE_SIZE,
): Promise<HeldMessagesPage> {
  const rows = await db.outboxMessage.findMany({
    where: {
      status: "HELD",
      ...(seesEveryOutbox(viewer) ? {} : { actorId: viewer.id }),
      ...(page.before !== undefined ? { id: { lt: page.before } } : {}),
    },
    orderBy: { id: "desc" },
    take: pageSize + 1,
    select: { id: true, createdAt: true, to: true, subject: true, text: true, impersonationId: true, actorId: true, subjectId: true },
  })
  const shown = rows.slice(0, pageSize)
  const ids = [...new Set(shown.flatMap((row) => [row.actorId, row.subjectId]).filter((id): id is number => id !== null))]
  const people = new Map(
    (await db.user.findMany({ where: { id: { in: ids } }, select: { id: true, name: true, email: true } })).map((p) => [p.id, p]),
  )
  return {
    messages: shown.map(({ actorId, subjectId, ...row }) => ({
      ...row,
      user: subjectId === null ? null : (people.get(subjectId) ?? null),
      admin: actorId === null ? null : (people.get(actorId) ?? null),
    })),
    olderThan: rows.length > pageSize ? shown[shown.length - 1]!.id : null,
  }
}

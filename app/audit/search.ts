import { z } from "zod"
import db, { Prisma } from "db"
import { safeText } from "app/core/text"
import { consoleScope, type ConsoleScope } from "app/impersonation/policy"
import { AuditAction } from "./schemas"

/**
 * The audit log's one query: the page, the CSV export and `npm run bench:audit` all read events
 * through `auditEventsSql`, so a filter or a scope rule cannot differ between them. Newest first
 * by id (ids are allocated in commit order: writers hold the chain lock), keyset paging only.
 */

export const AUDIT_PAGE_SIZE = 50

const MAX_INT4 = 2_147_483_647

/** Which events a viewer may see: all of them, or those of the organizations they administer. */
export type AuditScope = ConsoleScope
export const auditScopeFor = consoleScope

// An empty form field is sent as `name=`: it means "no filter", not a bad value.
const blankToUndefined = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value

function optionalField<T extends z.ZodType>(schema: T) {
  return z.preprocess(blankToUndefined, schema.optional())
}

const isWholeNumber = (value: string) =>
  /^\d{1,10}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_INT4

const userReference = (label: string) =>
  safeText({ error: `${label}: give it once, as an email address or a user id` })
    .trim()
    .max(254, `${label}: too long for an email address`)
    .refine(
      (value) => isWholeNumber(value) || z.email().safeParse(value).success,
      `${label}: give an email address or a user id`,
    )

const organizationReference = safeText({ error: "Organization: give it once, as a name or an id" })
  .trim()
  .max(200, "Organization: too long for an organization name")

const FIRST_DAY = "1970-01-01"
const LAST_DAY = "9998-12-31"

const calendarDay = (label: string) =>
  z
    .string({ error: `${label}: give one date` })
    .regex(/^\d{4}-\d{2}-\d{2}$/, `${label}: give a date as YYYY-MM-DD`)
    .refine((value) => {
      const date = new Date(`${value}T00:00:00Z`)
      return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value)
    }, `${label}: not a calendar date`)
    // The day after the last one must still be a 4-digit year ("To" is searched as "before the next day").
    .refine(
      (value) => value >= FIRST_DAY && value <= LAST_DAY,
      `${label}: give a date from ${FIRST_DAY} to ${LAST_DAY}`,
    )

const cursor = (label: string) =>
  z
    .string({ error: `${label}: give one event id` })
    .refine(isWholeNumber, `${label}: not an event id`)
    .transform(Number)

/** The audit log's filters as they arrive in the URL (the page's GET form, the CSV link). */
export const AuditQuery = z
  .object({
    admin: optionalField(userReference("Admin")),
    user: optionalField(userReference("User")),
    action: optionalField(
      z.enum(AuditAction.options, { error: "Action: choose one of the listed actions" }),
    ),
    organization: optionalField(organizationReference),
    from: optionalField(calendarDay("From")),
    to: optionalField(calendarDay("To")),
    before: optionalField(cursor("Older than")),
    after: optionalField(cursor("Newer than")),
  })
  .refine((query) => !(query.from && query.to && query.from > query.to), {
    message: "From must not be after To",
  })
  .refine((query) => query.before === undefined || query.after === undefined, {
    message: "Page either older or newer than an event, not both",
  })
export type AuditQuery = z.infer<typeof AuditQuery>

const FIELD_LABELS = {
  admin: "Admin",
  user: "User",
  action: "Action",
  organization: "Organization",
  from: "From",
  to: "To",
  before: "Older than",
  after: "Newer than",
} as const

export type SearchParamsInput = URLSearchParams | Record<string, string | string[] | undefined>

/** Parses the URL's filters; a repeated parameter is refused rather than silently narrowed. */
export function parseAuditQuery(
  params: SearchParamsInput,
): { ok: true; query: AuditQuery } | { ok: false; messages: string[] } {
  const raw: Record<string, unknown> = {}
  if (params instanceof URLSearchParams) {
    for (const key of new Set(params.keys())) {
      const values = params.getAll(key)
      raw[key] = values.length === 1 ? values[0] : values
    }
  } else {
    Object.assign(raw, params)
  }
  const parsed = AuditQuery.safeParse(raw)
  if (parsed.success) return { ok: true, query: parsed.data }
  const messages = parsed.error.issues.map((issue) => {
    const label = FIELD_LABELS[String(issue.path[0]) as keyof typeof FIELD_LABELS]
    return label && !issue.message.startsWith(label) ? `${label}: ${issue.message}` : issue.message
  })
  return { ok: false, messages: [...new Set(messages)] }
}

/** The filters with people and organizations resolved to ids, ready for SQL. */
export type AuditFilter = {
  actorId?: number
  subjectId?: number
  action?: AuditAction
  organizationId?: number
  /** First day included (YYYY-MM-DD, UTC). */
  from?: string
  /** Last day included (YYYY-MM-DD, UTC). */
  to?: string
  /** Ids that the date range can hold (from AuditEventDay): lets an index walk only that stretch. */
  idRange?: { min: number | null; max: number | null }
  /** A name or email that matches no row: the result is empty, without a query. */
  matchesNothing?: boolean
}

type Client = Pick<typeof db, "user" | "organization" | "$queryRaw">

export type ResolvedFilter =
  | { ok: true; filter: AuditFilter }
  | { ok: false; status: 403; message: string }

export const OUT_OF_SCOPE_MESSAGE =
  "You can only see the audit events of organizations you administer"

/**
 * The organization of that name, letter case aside ("acme" finds "Acme"); the exact spelling
 * wins when two names differ only by case, and an ambiguous name finds none.
 */
async function organizationNamed(name: string, client: Client): Promise<{ id: number } | null> {
  const exact = await client.organization.findUnique({
    where: { name },
    select: { id: true },
  })
  if (exact) return exact
  const matches = await client.$queryRaw<Array<{ id: number }>>`
    SELECT "id" FROM "Organization" WHERE lower("name") = lower(${name}) LIMIT 2`
  return matches.length === 1 ? matches[0]! : null
}

/**
 * Turns emails and organization names into ids, on the server. Whether an email exists is not
 * told apart from "no events": the audit log is no way to probe for accounts.
 */
export async function resolveAuditFilter(
  query: AuditQuery,
  scope: AuditScope,
  client: Client = db,
): Promise<ResolvedFilter> {
  const filter: AuditFilter = { action: query.action, from: query.from, to: query.to }
  const userId = async (reference: string) => {
    if (isWholeNumber(reference)) return Number(reference)
    const user = await client.user.findUnique({
      where: { email: reference.toLowerCase() },
      select: { id: true },
    })
    return user?.id
  }
  if (query.admin) filter.actorId = await userId(query.admin)
  if (query.user) filter.subjectId = await userId(query.user)
  if (query.organization) {
    const reference = query.organization
    const organization = isWholeNumber(reference)
      ? { id: Number(reference) }
      : await organizationNamed(reference, client)
    filter.organizationId = organization?.id
    const visible =
      scope.wholePlatform ||
      (organization !== null && scope.organizationIds.includes(organization.id))
    if (!visible) return { ok: false, status: 403, message: OUT_OF_SCOPE_MESSAGE }
  }
  filter.matchesNothing =
    (query.admin !== undefined && filter.actorId === undefined) ||
    (query.user !== undefined && filter.subjectId === undefined) ||
    (query.organization !== undefined && filter.organizationId === undefined)
  if (query.from || query.to) filter.idRange = await dayIdRange(query.from, query.to, client)
  return { ok: true, filter }
}

/**
 * The smallest and largest id any event of those days can have, from the per-day bounds a
 * trigger keeps (migrations 20261202004000_console_audit, 20261207000000_audit_async_seal).
 * `at` nearly follows ids, but only nearly: the date conditions stay, this only narrows where
 * to look.
 */
export async function dayIdRange(
  from: string | undefined,
  to: string | undefined,
  client: Pick<typeof db, "$queryRaw"> = db,
): Promise<{ min: number | null; max: number | null }> {
  const days: Prisma.Sql[] = []
  if (from) days.push(Prisma.sql`"day" >= ${from}::date`)
  if (to) days.push(Prisma.sql`"day" <= ${to}::date`)
  // The days' bounds count sealed events (the sealer keeps them: no lock on the day's row at
  // each insert); events not sealed yet, normally a few ms old, are added from the partial index.
  const [bounds] = await client.$queryRaw<Array<{ min: number | null; max: number | null }>>`
    SELECT LEAST(d."min", u."min") AS "min", GREATEST(d."max", u."max") AS "max"
    FROM (SELECT min("firstId") AS "min", max("lastId") AS "max" FROM "AuditEventDay" ${where(days)}) AS d,
      (SELECT min("id") AS "min", max("id") AS "max" FROM "AuditEvent" WHERE "chainPosition" IS NULL) AS u`
  return { min: bounds?.min ?? null, max: bounds?.max ?? null }
}

/** One row as the page and the CSV show it. */
export type AuditRow = {
  id: number
  /** ISO 8601, UTC. */
  at: string
  action: AuditAction
  actorId: number | null
  actorEmail: string | null
  actorName: string | null
  subjectId: number | null
  subjectEmail: string | null
  subjectName: string | null
  organizationId: number | null
  organizationName: string | null
  impersonationId: number | null
  reason: string | null
  ticketUrl: string | null
  endReason: string | null
  refusalCode: string | null
  /** The impersonation's mode (details.mode) where the event names one: READ_ONLY or READ_WRITE. */
  mode: string | null
  /** Who ended an impersonation (details.endedById), when someone did. */
  endedById: number | null
  endedByEmail: string | null
  ip: string | null
  userAgent: string | null
}

function dayAfter(day: string): string {
  const date = new Date(`${day}T00:00:00Z`)
  date.setUTCDate(date.getUTCDate() + 1)
  return date.toISOString().slice(0, 10)
}

/** The scope and filter conditions on `"AuditEvent" e`; every query of the log starts here. */
export function auditConditions(filter: AuditFilter, scope: AuditScope): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = []
  if (!scope.wholePlatform) {
    conditions.push(
      scope.organizationIds.length
        ? Prisma.sql`e."organizationId" IN (${Prisma.join(scope.organizationIds)})`
        : Prisma.sql`FALSE`,
    )
  }
  if (filter.matchesNothing) conditions.push(Prisma.sql`FALSE`)
  if (filter.actorId !== undefined) conditions.push(Prisma.sql`e."actorId" = ${filter.actorId}`)
  if (filter.subjectId !== undefined)
    conditions.push(Prisma.sql`e."subjectId" = ${filter.subjectId}`)
  if (filter.organizationId !== undefined) {
    conditions.push(Prisma.sql`e."organizationId" = ${filter.organizationId}`)
  }
  if (filter.action) conditions.push(Prisma.sql`e."action" = ${filter.action}::"AuditAction"`)
  // Dates as text cast to the column's type (timestamp, UTC by Prisma's convention): no time zone involved.
  if (filter.from) conditions.push(Prisma.sql`e."at" >= ${filter.from}::timestamp`)
  if (filter.to) conditions.push(Prisma.sql`e."at" < ${dayAfter(filter.to)}::timestamp`)
  if (filter.idRange) {
    const { min, max } = filter.idRange
    // No day in the range holds an event: nothing to look for.
    if (min === null || max === null) conditions.push(Prisma.sql`FALSE`)
    else conditions.push(Prisma.sql`e."id" BETWEEN ${min} AND ${max}`)
  }
  return conditions
}

function where(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty
}

export type PageRequest = {
  /** Events older than this id (the next page down). */
  before?: number
  /** Events newer than this id (the page above), returned oldest first. */
  after?: number
  /** Omitted: every matching row (the CSV export's cursor). */
  limit?: number
  /** Never used by the app: `npm run bench:audit` times it, to show what keyset paging saves. */
  offsetForComparison?: number
}

/** details.endedById as an integer; null when absent (or not a number, which the app never writes). */
const ENDED_BY_ID = Prisma.sql`CASE WHEN jsonb_typeof(e."details"->'endedById') = 'number'
  THEN (e."details"->>'endedById')::int END`

/**
 * An event's IP or user agent is that of whoever made the request. When someone other than
 * the actor did (platform staff pressing End on an organization admin's impersonation), a
 * viewer who does not see the whole platform gets a blank: it is not their organization's machine.
 */
function requestOrigin(scope: AuditScope, column: Prisma.Sql): Prisma.Sql {
  if (scope.wholePlatform) return Prisma.sql`e.${column}`
  return Prisma.sql`CASE WHEN ${ENDED_BY_ID} IS DISTINCT FROM e."actorId" AND ${ENDED_BY_ID} IS NOT NULL
    THEN NULL ELSE e.${column} END`
}

/** THE query: matching events with their people and organization, newest first by id. */
export function auditEventsSql(
  filter: AuditFilter,
  scope: AuditScope,
  page: PageRequest = {},
): Prisma.Sql {
  const conditions = auditConditions(filter, scope)
  if (page.before !== undefined) conditions.push(Prisma.sql`e."id" < ${page.before}`)
  if (page.after !== undefined) conditions.push(Prisma.sql`e."id" > ${page.after}`)
  const order = page.after !== undefined ? Prisma.sql`ASC` : Prisma.sql`DESC`
  const limit = Prisma.sql`${
    page.limit !== undefined ? Prisma.sql`LIMIT ${page.limit}` : Prisma.empty
  } ${
    page.offsetForComparison !== undefined
      ? Prisma.sql`OFFSET ${page.offsetForComparison}`
      : Prisma.empty
  }`
  // The page is chosen first, then joined: the planner cannot misjudge the join of 50 rows.
  return Prisma.sql`
    SELECT e."id",
      to_char(e."at", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "at",
      e."action"::text AS "action",
      e."actorId", actor."email" AS "actorEmail", actor."name" AS "actorName",
      e."subjectId", subject."email" AS "subjectEmail", subject."name" AS "subjectName",
      e."organizationId", org."name" AS "organizationName",
      e."impersonationId",
      e."details"->>'reason' AS "reason",
      e."details"->>'ticketUrl' AS "ticketUrl",
      e."details"->>'endReason' AS "endReason",
      e."details"->>'code' AS "refusalCode",
      e."details"->>'mode' AS "mode",
      ender."id" AS "endedById", ender."email" AS "endedByEmail",
      ${requestOrigin(scope, Prisma.sql`"ip"`)} AS "ip",
      ${requestOrigin(scope, Prisma.sql`"userAgent"`)} AS "userAgent"
    FROM (
      SELECT * FROM "AuditEvent" e ${where(conditions)} ORDER BY e."id" ${order} ${limit}
    ) e
    LEFT JOIN "User" actor ON actor."id" = e."actorId"
    LEFT JOIN "User" subject ON subject."id" = e."subjectId"
    LEFT JOIN "Organization" org ON org."id" = e."organizationId"
    LEFT JOIN "User" ender ON ender."id" = ${ENDED_BY_ID}
    ORDER BY e."id" ${order}`
}

/** Whether any matching event lies beyond `id` in that direction (a probe, never a count). */
async function anyBeyond(
  filter: AuditFilter,
  scope: AuditScope,
  direction: "older" | "newer",
  id: number,
  client: Client,
): Promise<boolean> {
  const conditions = auditConditions(filter, scope)
  conditions.push(direction === "older" ? Prisma.sql`e."id" < ${id}` : Prisma.sql`e."id" > ${id}`)
  // Ordered from the cursor outwards: the planner then walks an index from there, never the heap.
  const order = direction === "older" ? Prisma.sql`DESC` : Prisma.sql`ASC`
  const rows = await client.$queryRaw<unknown[]>`
    SELECT 1 AS "found" FROM "AuditEvent" e ${where(conditions)} ORDER BY e."id" ${order} LIMIT 1`
  return rows.length > 0
}

export type AuditPage = {
  events: AuditRow[]
  /** Cursor for the "Older" link (`before`), null when there is nothing older. */
  olderThan: number | null
  /** Cursor for the "Newer" link (`after`), null when this is the newest page. */
  newerThan: number | null
}

/** One page of the log: `pageSize` rows plus one to know if more lie that way, plus a probe the other way. */
export async function searchAuditEvents(
  filter: AuditFilter,
  scope: AuditScope,
  page: { before?: number; after?: number; pageSize?: number } = {},
  client: Client = db,
): Promise<AuditPage> {
  const pageSize = page.pageSize ?? AUDIT_PAGE_SIZE
  if (filter.matchesNothing) return { events: [], olderThan: null, newerThan: null }
  const rows = await client.$queryRaw<AuditRow[]>(
    auditEventsSql(filter, scope, { before: page.before, after: page.after, limit: pageSize + 1 }),
  )
  const more = rows.length > pageSize
  const events = rows.slice(0, pageSize)
  const goingNewer = page.after !== undefined
  if (goingNewer) events.reverse()
  const first = events[0]
  const last = events.at(-1)
  // An empty page (a cursor past the end, from an old link): the page offers "Newest" instead.
  if (!first || !last) return { events, olderThan: null, newerThan: null }
  const older = goingNewer ? await anyBeyond(filter, scope, "older", last.id, client) : more
  const newer = goingNewer
    ? more
    : page.before !== undefined && (await anyBeyond(filter, scope, "newer", first.id, client))
  return { events, olderThan: older ? last.id : null, newerThan: newer ? first.id : null }
}

export type DailyCount = { day: string; count: number }

/** The last `days` calendar days (UTC), oldest first, ending with today. */
export function lastDays(now: Date, days: number): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  return Array.from({ length: days }, (_, i) =>
    new Date(today - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  )
}

/**
 * Impersonations started per day (UTC) in the viewer's scope, every day present (zeros too),
 * from one GROUP BY over the audit log's IMPERSONATION_STARTED events.
 */
export async function impersonationsPerDay(
  scope: AuditScope,
  now = new Date(),
  days = 30,
  client: Client = db,
): Promise<DailyCount[]> {
  const range = lastDays(now, days)
  const window = { from: range[0], to: range.at(-1) }
  const idRange = await dayIdRange(window.from, window.to, client)
  const conditions = auditConditions({ action: "IMPERSONATION_STARTED", ...window, idRange }, scope)
  const rows = await client.$queryRaw<Array<{ day: string; count: number | bigint }>>`
    SELECT to_char(date_trunc('day', e."at"), 'YYYY-MM-DD') AS "day", count(*)::int AS "count"
    FROM "AuditEvent" e ${where(conditions)}
    GROUP BY 1`
  const counts = new Map(rows.map((row) => [row.day, Number(row.count)]))
  return range.map((day) => ({ day, count: counts.get(day) ?? 0 }))
}

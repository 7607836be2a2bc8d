import { z } from "zod"
import db, { Prisma } from "db"
import { eligibilityOf, type Eligibility } from "app/access/requestRules"
import { safeText } from "app/core/text"
import {
  consoleScope,
  decideTarget,
  isActiveImpersonator,
  type OrgRole,
  type PlatformRole,
  type Consent,
  type PolicyUser,
} from "app/impersonation/policy"

/**
 * The admin console's user directory: one query, shared by the page, the tests and
 * `npm run bench:directory`. Substring search is `ILIKE '%term%'` on name OR email, which
 * PostgreSQL serves with the pg_trgm GIN indexes (a BitmapOr of User_name_trgm_idx and
 * User_email_trgm_idx); paging is keyset on the id, never OFFSET, and nothing counts the table.
 */

export const DIRECTORY_TERM_MAX_LENGTH = 100
export const DIRECTORY_PAGE_SIZE = 25
export const DIRECTORY_MAX_PAGE_SIZE = 100
const MAX_ID = 2_147_483_647

const cursor = z.number().int().positive().max(MAX_ID)

export const DirectoryQuery = z
  .object({
    term: safeText({ message: "The search must be text" })
      .trim()
      .max(DIRECTORY_TERM_MAX_LENGTH, `Search for at most ${DIRECTORY_TERM_MAX_LENGTH} characters`)
      .default(""),
    after: cursor.optional(),
    before: cursor.optional(),
    pageSize: z.number().int().min(1).max(DIRECTORY_MAX_PAGE_SIZE).default(DIRECTORY_PAGE_SIZE),
  })
  .strict()
  .refine((query) => query.after === undefined || query.before === undefined, {
    message: "Page forwards or backwards, not both",
  })
export type DirectoryQuery = z.input<typeof DirectoryQuery>

export type DirectoryOrganization = { id: number; name: string; role: OrgRole }

export type DirectoryRow = {
  id: number
  name: string
  email: string
  role: PlatformRole
  status: "ACTIVE" | "DISABLED"
  /** The organizations the viewer may see this user in (an org admin: only their own). */
  organizations: DirectoryOrganization[]
  /**
   * Whether the viewer may impersonate this user, and if not, why (in words); a user who
   * approves each access is eligible with the hint "Approval required".
   */
  eligibility: Eligibility
}

export type DirectoryPage = {
  rows: DirectoryRow[]
  /** Pass as `before` for the previous page; null on the first page. */
  previousCursor: number | null
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: number | null
}

/** A LIKE pattern matching `term` anywhere, with its own `%`, `_` and `\` taken literally. */
export function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (character) => `\\${character}`)}%`
}


type UserRow = {
  id: number
  name: string
  email: string
  role: PlatformRole
  status: "ACTIVE" | "DISABLED"
  impersonationConsent: "ALLOWED" | "ASK" | "NEVER"
  /** JSON text: [{organizationId, role, name, consentFloor}] ordered by organization id. */
  memberships: string
}

type ParsedQuery = z.output<typeof DirectoryQuery>

/**
 * The directory's SQL for one page (one row more than the page, to know whether another
 * follows), or null when the viewer sees nobody. Exported so that tests and the benchmark can
 * EXPLAIN and time exactly what the page runs.
 */
export function directoryPageSql(viewer: PolicyUser, query: ParsedQuery): Prisma.Sql | null {
  if (!isActiveImpersonator(viewer)) return null
  const scope = consoleScope(viewer)
  if (!scope.wholePlatform && scope.organizationIds.length === 0) return null
  const conditions: Prisma.Sql[] = []
  if (query.term !== "") {
    const pattern = containsPattern(query.term)
    conditions.push(Prisma.sql`(u."name" ILIKE ${pattern} OR u."email" ILIKE ${pattern})`)
  }
  if (!scope.wholePlatform) {
    conditions.push(Prisma.sql`u."id" IN (SELECT m."userId" FROM "Membership" m
      WHERE m."organizationId" IN (${Prisma.join(scope.organizationIds)}))`)
  }
  if (query.after !== undefined) conditions.push(Prisma.sql`u."id" > ${query.after}`)
  if (query.before !== undefined) conditions.push(Prisma.sql`u."id" < ${query.before}`)
  const where = conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty
  const direction = query.before !== undefined ? Prisma.sql`DESC` : Prisma.sql`ASC`
  return withMemberships(
    Prisma.sql`${DIRECTORY_COLUMNS} ${where} ORDER BY u."id" ${direction} LIMIT ${query.pageSize + 1}`,
    direction,
  )
}

/** The columns of a directory row, from `"User" u` (the page's inner query starts with this). */
export const DIRECTORY_COLUMNS = Prisma.sql`
  SELECT u."id", u."name", u."email", u."role"::text AS "role", u."status"::text AS "status",
    u."impersonationConsent"::text AS "impersonationConsent"
  FROM "User" u`

/**
 * Adds each row's memberships, as JSON text (the same on both drivers), to a page of users:
 * computed for the page's rows only, so a page is one round trip.
 */
export function withMemberships(page: Prisma.Sql, direction = Prisma.sql`ASC`): Prisma.Sql {
  return Prisma.sql`
    SELECT page.*, COALESCE((
        SELECT json_agg(json_build_object('organizationId', m."organizationId", 'role', m."role",
          'name', o."name", 'consentFloor', o."consentFloor") ORDER BY m."organizationId")::text
        FROM "Membership" m JOIN "Organization" o ON o."id" = m."organizationId"
        WHERE m."userId" = page."id"), '[]') AS "memberships"
    FROM (${page}) AS page
    ORDER BY page."id" ${direction}`
}

/** The page of users (ids ascending) the viewer may see; invalid queries throw a ZodError. */
export async function searchDirectory(
  input: DirectoryQuery & { viewer: PolicyUser },
): Promise<DirectoryPage> {
  const { viewer, ...rest } = input
  const query = DirectoryQuery.parse(rest)
  const sql = directoryPageSql(viewer, query)
  if (!sql) return { rows: [], previousCursor: null, nextCursor: null }
  const scope = consoleScope(viewer)
  const backwards = query.before !== undefined
  const fetched = await db.$queryRaw<UserRow[]>(sql)
  const more = fetched.length > query.pageSize
  const users = fetched.slice(0, query.pageSize)
  if (backwards) users.reverse()

  const rows = users.map((user): DirectoryRow => {
    const own = JSON.parse(user.memberships) as Array<{
      organizationId: number
      role: OrgRole
      name: string
      consentFloor: Consent
    }>
    const target: PolicyUser = {
      id: user.id,
      role: user.role,
      status: user.status,
      impersonationConsent: user.impersonationConsent,
      // The floor too: decideTarget refuses NEVER, and an ASK floor makes the row "Approval required".
      memberships: own.map((m) => ({ organizationId: m.organizationId, role: m.role, consentFloor: m.consentFloor })),
    }
    const decision = decideTarget(viewer, target)
    return {
      id: user.id,
      name: user.name,
      email: user.email,
      role: user.role,
      status: user.status,
      organizations: own
        .filter((m) => scope.wholePlatform || scope.organizationIds.includes(m.organizationId))
        .map((m) => ({ id: m.organizationId, name: m.name, role: m.role })),
      eligibility: eligibilityOf(decision, target),
    }
  })
  const firstId = rows[0]?.id ?? null
  const lastId = rows.at(-1)?.id ?? null
  return {
    rows,
    // Forwards, a page after a cursor has rows before it; backwards, the extra row says so.
    previousCursor: (backwards ? more : query.after !== undefined) ? firstId : null,
    nextCursor: (backwards ? query.before !== undefined : more) ? lastId : null,
  }
}

type SearchParams = Record<string, string | string[] | undefined>

/**
 * The directory page's URL (`?q=&after=` or `?q=&before=`) as a query, or the reason it is not
 * one. Cursors that are not ids are ignored (first page); a bad search term is refused.
 */
export function directoryQueryFromSearchParams(
  params: SearchParams,
): { ok: true; query: DirectoryQuery & { term: string } } | { ok: false; term: string; message: string } {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)
  const term = first(params.q) ?? ""
  const asCursor = (value: string | undefined) => {
    const parsed = cursor.safeParse(value !== undefined && /^\d{1,10}$/.test(value) ? Number(value) : NaN)
    return parsed.success ? parsed.data : undefined
  }
  const after = asCursor(first(params.after))
  const before = after === undefined ? asCursor(first(params.before)) : undefined
  const parsed = DirectoryQuery.safeParse({ term, after, before })
  if (!parsed.success) {
    const message = parsed.error.issues[0]!.message
    return {
      ok: false,
      term: term.replace(/[\u0000\p{Cs}]/gu, "").slice(0, DIRECTORY_TERM_MAX_LENGTH),
      // safeText's own wording is a sentence ending ("must not contain ..."): give it a subject.
      message: /^[a-z]/.test(message) ? `The search ${message}` : message,
    }
  }
  return { ok: true, query: { ...parsed.data } }
}

import { beforeAll, describe, expect, it } from "vitest"
import db, { type Prisma } from "db"
import { recordAuditEvent, type AuditEntry } from "app/audit/log"
import {
  OUT_OF_SCOPE_MESSAGE,
  auditScopeFor,
  impersonationsPerDay,
  lastDays,
  parseAuditQuery,
  resolveAuditFilter,
  searchAuditEvents,
  type AuditFilter,
  type AuditRow,
  type AuditScope,
} from "app/audit/search"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import { createOrganization, createUser } from "test/helpers/fixtures"

/**
 * The audit log's one query (app/audit/search.ts) on the real database: every filter, the
 * organization admins' scope, keyset paging in both directions, refused filters, and the
 * per-day impersonation counts. Expected rows come from Prisma queries written independently.
 */

const DAY = 86_400_000
const BASE = Date.UTC(2025, 2, 1) // 2025-03-01, far from the events other test files write

let orgA: { id: number; name: string }
let orgB: { id: number; name: string }
let support: { id: number; email: string }
let ownerA: { id: number; email: string }
let adminB: { id: number; email: string }
let memberA: { id: number; email: string }
let memberB: { id: number; email: string }
let plain: { id: number; email: string }
const WHOLE_PLATFORM: AuditScope = { wholePlatform: true }

async function record(
  entry: Omit<AuditEntry, "impersonationId" | "details"> & { details?: object },
  at: Date,
) {
  return db.$transaction((tx) =>
    recordAuditEvent(tx, { impersonationId: null, details: {}, ...entry } as AuditEntry, at),
  )
}

async function scopeOf(userId: number) {
  const row = await db.user.findUniqueOrThrow({ where: { id: userId }, ...userForPolicy })
  return auditScopeFor(toPolicyUser(row))
}

/** Every matching row, page after page (older), as the page's "Older" link walks them. */
async function allPages(filter: AuditFilter, scope: AuditScope, pageSize: number) {
  const pages: AuditRow[][] = []
  let before: number | undefined
  for (;;) {
    const page = await searchAuditEvents(filter, scope, { before, pageSize })
    pages.push(page.events)
    if (page.olderThan === null) return pages
    before = page.olderThan
  }
}

async function expectedIds(where: Prisma.AuditEventWhereInput) {
  const rows = await db.auditEvent.findMany({
    where,
    orderBy: { id: "desc" },
    select: { id: true },
  })
  return rows.map((row) => row.id)
}

async function resolve(params: Record<string, string>, scope: AuditScope = WHOLE_PLATFORM) {
  const parsed = parseAuditQuery(params)
  if (!parsed.ok) throw new Error(parsed.messages.join("; "))
  return resolveAuditFilter(parsed.query, scope)
}

beforeAll(async () => {
  orgA = await createOrganization("audit-a")
  orgB = await createOrganization("audit-b")
  support = await createUser({ label: "audit-support", role: "SUPPORT" })
  ownerA = await createUser({
    label: "audit-owner-a",
    organization: { id: orgA.id, role: "OWNER" },
  })
  adminB = await createUser({
    label: "audit-admin-b",
    organization: { id: orgB.id, role: "ADMIN" },
  })
  memberA = await createUser({
    label: "audit-member-a",
    organization: { id: orgA.id, role: "MEMBER" },
  })
  memberB = await createUser({
    label: "audit-member-b",
    organization: { id: orgB.id, role: "MEMBER" },
  })
  plain = await createUser({ label: "audit-plain" })
  // Organization A: 24 events every 8 hours from 2025-03-01; B: 12 every 12 hours; platform: 10.
  for (let i = 0; i < 24; i++) {
    await record(
      {
        action: i % 2 ? "IMPERSONATION_ENDED" : "IMPERSONATION_STARTED",
        actorId: ownerA.id,
        subjectId: memberA.id,
        organizationId: orgA.id,
        details: { reason: `A ${i}` },
      },
      new Date(BASE + i * 8 * 3_600_000),
    )
  }
  for (let i = 0; i < 12; i++) {
    await record(
      {
        action: i % 2 ? "IMPERSONATION_ENDED" : "IMPERSONATION_STARTED",
        actorId: adminB.id,
        subjectId: memberB.id,
        organizationId: orgB.id,
      },
      new Date(BASE + i * 12 * 3_600_000),
    )
  }
  for (let i = 0; i < 10; i++) {
    await record(
      {
        action: (
          ["IMPERSONATION_STARTED", "IMPERSONATION_ENDED", "IMPERSONATION_REFUSED"] as const
        )[i % 3]!,
        actorId: support.id,
        subjectId: plain.id,
        organizationId: null,
        details: { code: i % 3 === 2 ? "TARGET_OPTED_OUT" : undefined },
      },
      new Date(BASE + i * 10 * 3_600_000),
    )
  }
})

describe("filters", () => {
  const cases: Array<[string, () => Record<string, string>, () => Prisma.AuditEventWhereInput]> = [
    [
      "admin by email, in any case",
      () => ({ admin: ownerA.email.toUpperCase() }),
      () => ({ actorId: ownerA.id }),
    ],
    ["admin by id", () => ({ admin: String(adminB.id) }), () => ({ actorId: adminB.id })],
    ["user by email", () => ({ user: memberA.email }), () => ({ subjectId: memberA.id })],
    ["user by id", () => ({ user: String(plain.id) }), () => ({ subjectId: plain.id })],
    [
      "action",
      () => ({ action: "IMPERSONATION_REFUSED", admin: support.email }),
      () => ({ action: "IMPERSONATION_REFUSED", actorId: support.id }),
    ],
    [
      "organization by name",
      () => ({ organization: orgB.name }),
      () => ({ organizationId: orgB.id }),
    ],
    [
      "organization by id",
      () => ({ organization: String(orgA.id) }),
      () => ({ organizationId: orgA.id }),
    ],
    [
      "date range, whole UTC days included",
      () => ({ organization: orgA.name, from: "2025-03-02", to: "2025-03-04" }),
      () => ({
        organizationId: orgA.id,
        at: { gte: new Date("2025-03-02T00:00:00Z"), lt: new Date("2025-03-05T00:00:00Z") },
      }),
    ],
    [
      "from only",
      () => ({ admin: support.email, from: "2025-03-03" }),
      () => ({ actorId: support.id, at: { gte: new Date("2025-03-03T00:00:00Z") } }),
    ],
    [
      "all at once",
      () => ({
        admin: ownerA.email,
        user: memberA.email,
        action: "IMPERSONATION_ENDED",
        organization: orgA.name,
        from: "2025-03-01",
        to: "2025-03-03",
      }),
      () => ({
        actorId: ownerA.id,
        subjectId: memberA.id,
        action: "IMPERSONATION_ENDED",
        organizationId: orgA.id,
        at: { gte: new Date("2025-03-01T00:00:00Z"), lt: new Date("2025-03-04T00:00:00Z") },
      }),
    ],
  ]

  it.each(cases)(
    "%s: exactly the matching events, newest first, over every page",
    async (_, params, where) => {
      const resolved = await resolve(params())
      if (!resolved.ok) throw new Error(resolved.message)
      const expected = await expectedIds(where())
      const everything = await db.auditEvent.count()
      expect(expected.length).toBeGreaterThan(0)
      expect(expected.length).toBeLessThan(everything) // the filter narrows something
      const pages = await allPages(resolved.filter, WHOLE_PLATFORM, 5)
      expect(pages.flat().map((row) => row.id)).toEqual(expected)
    },
  )

  it("shows the people, organization and details of each event", async () => {
    const resolved = await resolve({ admin: support.email, action: "IMPERSONATION_REFUSED" })
    if (!resolved.ok) throw new Error(resolved.message)
    const [row] = (await searchAuditEvents(resolved.filter, WHOLE_PLATFORM)).events
    expect(row).toMatchObject({
      action: "IMPERSONATION_REFUSED",
      actorId: support.id,
      actorEmail: support.email,
      subjectId: plain.id,
      subjectEmail: plain.email,
      organizationId: null,
      refusalCode: "TARGET_OPTED_OUT",
      at: new Date(BASE + 80 * 3_600_000).toISOString(), // the last of the three refusals (i = 8)
    })
    const [started] = (
      await searchAuditEvents(
        { organizationId: orgA.id, action: "IMPERSONATION_STARTED" },
        WHOLE_PLATFORM,
      )
    ).events
    expect(started).toMatchObject({ organizationName: orgA.name, reason: "A 22" })
  })

  it("an unknown email matches nothing, without telling whether the account exists", async () => {
    const resolved = await resolve({ admin: "nobody-at-all@fixture.example" })
    expect(resolved).toMatchObject({ ok: true, filter: { matchesNothing: true } })
    if (!resolved.ok) return
    expect(await searchAuditEvents(resolved.filter, WHOLE_PLATFORM)).toEqual({
      events: [],
      olderThan: null,
      newerThan: null,
    })
  })
})

describe("scope", () => {
  it("platform staff see every organization's events and the platform's", async () => {
    expect(await scopeOf(support.id)).toEqual({ wholePlatform: true })
    const page = await searchAuditEvents({ actorId: support.id }, await scopeOf(support.id), {
      pageSize: 100,
    })
    expect(page.events.map((row) => row.id)).toEqual(await expectedIds({ actorId: support.id }))
  })

  it("an organization admin sees only their organization's events", async () => {
    const scope = await scopeOf(ownerA.id)
    expect(scope).toEqual({ wholePlatform: false, organizationIds: [orgA.id] })
    const rows = (await allPages({}, scope, 10)).flat()
    expect(rows.map((row) => row.id)).toEqual(await expectedIds({ organizationId: orgA.id }))
    expect(new Set(rows.map((row) => row.organizationId))).toEqual(new Set([orgA.id]))

    const bScope = await scopeOf(adminB.id)
    const bRows = (await allPages({}, bScope, 50)).flat()
    expect(bRows.map((row) => row.id)).toEqual(await expectedIds({ organizationId: orgB.id }))

    // Another admin's events in another organization, or the platform's: none.
    const resolved = await resolve({ admin: adminB.email }, scope)
    if (!resolved.ok) throw new Error(resolved.message)
    expect((await searchAuditEvents(resolved.filter, scope)).events).toEqual([])
    const platform = await resolve({ admin: support.email }, scope)
    if (!platform.ok) throw new Error(platform.message)
    expect((await searchAuditEvents(platform.filter, scope)).events).toEqual([])
  })

  it("refuses an organization outside the admin's scope, by name or id, existing or not", async () => {
    const scope = await scopeOf(ownerA.id)
    for (const organization of [orgB.name, String(orgB.id), "No Such Organization", "2147483647"]) {
      expect(await resolve({ organization }, scope)).toEqual({
        ok: false,
        status: 403,
        message: OUT_OF_SCOPE_MESSAGE,
      })
    }
    expect(await resolve({ organization: orgA.name }, scope)).toMatchObject({
      ok: true,
      filter: { organizationId: orgA.id },
    })
  })

  it("a plain member administers nothing and sees nothing", async () => {
    const scope = await scopeOf(memberA.id)
    expect(scope).toEqual({ wholePlatform: false, organizationIds: [] })
    expect((await searchAuditEvents({}, scope)).events).toEqual([])
  })
})

describe("keyset paging", () => {
  it("walks older and back newer with no gaps and no repeats", async () => {
    const scope = await scopeOf(ownerA.id)
    const expected = await expectedIds({ organizationId: orgA.id })
    expect(expected.length).toBeGreaterThan(14)

    const older: AuditRow[][] = []
    let page = await searchAuditEvents({}, scope, { pageSize: 7 })
    expect(page.newerThan).toBeNull() // the newest page
    older.push(page.events)
    while (page.olderThan !== null) {
      page = await searchAuditEvents({}, scope, { before: page.olderThan, pageSize: 7 })
      expect(page.newerThan).toBe(page.events[0]!.id)
      older.push(page.events)
    }
    const ids = older.flat().map((row) => row.id)
    expect(ids).toEqual(expected)
    expect(new Set(ids).size).toBe(ids.length)
    expect(older.slice(0, -1).every((events) => events.length === 7)).toBe(true)

    // Back up with "Newer" from the oldest page: the same pages, in reverse.
    const newer: AuditRow[][] = [page.events]
    while (page.newerThan !== null) {
      page = await searchAuditEvents({}, scope, { after: page.newerThan, pageSize: 7 })
      newer.push(page.events)
    }
    expect(
      newer
        .flat()
        .map((row) => row.id)
        .sort((a, b) => b - a),
    ).toEqual(expected)
    expect(newer.at(-1)!.map((row) => row.id)).toEqual(expected.slice(0, newer.at(-1)!.length))
  })

  it("an event written meanwhile appears on top, never twice on an older page", async () => {
    const scope = await scopeOf(ownerA.id)
    const first = await searchAuditEvents({}, scope, { pageSize: 5 })
    const added = await record(
      { action: "SIGNED_OUT", actorId: ownerA.id, subjectId: ownerA.id, organizationId: orgA.id },
      new Date(BASE + 30 * DAY),
    )
    const second = await searchAuditEvents({}, scope, { before: first.olderThan!, pageSize: 5 })
    expect(second.events.map((row) => row.id)).not.toContain(added.id)
    expect(Math.max(...second.events.map((row) => row.id))).toBeLessThan(
      Math.min(...first.events.map((row) => row.id)),
    )
    const top = await searchAuditEvents({}, scope, { pageSize: 5 })
    expect(top.events[0]!.id).toBe(added.id)
  })

  it("a cursor past the end gives an empty page, not an error", async () => {
    const scope = await scopeOf(ownerA.id)
    const [oldest] = await expectedIds({ organizationId: orgA.id }).then((ids) => ids.slice(-1))
    expect(await searchAuditEvents({}, scope, { before: oldest })).toEqual({
      events: [],
      olderThan: null,
      newerThan: null,
    })
  })
})

describe("bad filters", () => {
  const refused: Array<[string, Record<string, string | string[]>, RegExp]> = [
    ["an unknown action", { action: "DROP_TABLE" }, /Action: choose one of the listed actions/],
    ["an action in lower case", { action: "impersonation_started" }, /Action/],
    ["a date that does not exist", { from: "2026-02-30" }, /From: not a calendar date/],
    ["a date in another format", { to: "12/01/2026" }, /To: give a date as YYYY-MM-DD/],
    ["from after to", { from: "2026-03-02", to: "2026-03-01" }, /From must not be after To/],
    [
      "an admin that is neither an email nor an id",
      { admin: "x' OR 1=1 --" },
      /Admin: give an email address or a user id/,
    ],
    ["a user id out of range", { user: "99999999999" }, /User: give an email address or a user id/],
    ["a NUL character", { organization: "Acme\u0000" }, /Organization: must not contain NUL/],
    [
      "a repeated parameter",
      { action: ["IMPERSONATION_STARTED", "IMPERSONATION_ENDED"] },
      /Action/,
    ],
    ["a cursor that is not an id", { before: "-1" }, /Older than: not an event id/],
    ["both cursors", { before: "10", after: "5" }, /either older or newer/],
  ]

  it.each(refused)("refuses %s with a message", (_, params, message) => {
    const parsed = parseAuditQuery(params)
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.messages.join("\n")).toMatch(message)
  })

  it("reads repeated URL parameters as a refusal, blanks as no filter", () => {
    expect(parseAuditQuery(new URLSearchParams("action=SIGNED_IN&action=SIGNED_OUT")).ok).toBe(
      false,
    )
    expect(parseAuditQuery(new URLSearchParams("admin=&user=%20&action=&from=&to="))).toEqual({
      ok: true,
      query: {},
    })
  })
})

describe("impersonations per day", () => {
  async function expectedPerDay(days: string[], where: Prisma.AuditEventWhereInput) {
    return Promise.all(
      days.map(async (day) => ({
        day,
        count: await db.auditEvent.count({
          where: {
            ...where,
            action: "IMPERSONATION_STARTED",
            at: {
              gte: new Date(`${day}T00:00:00Z`),
              lt: new Date(new Date(`${day}T00:00:00Z`).getTime() + DAY),
            },
          },
        }),
      })),
    )
  }

  it("counts an organization's starts per UTC day, 30 days with zeros, nothing outside", async () => {
    const scope = await scopeOf(ownerA.id)
    // Outside the window: 40 days before it ends, and after "now".
    await record(
      {
        action: "IMPERSONATION_STARTED",
        actorId: ownerA.id,
        subjectId: memberA.id,
        organizationId: orgA.id,
      },
      new Date(BASE - 30 * DAY),
    )
    await record(
      {
        action: "IMPERSONATION_STARTED",
        actorId: ownerA.id,
        subjectId: memberA.id,
        organizationId: orgA.id,
      },
      new Date(BASE + 11 * DAY),
    )
    const now = new Date(BASE + 10 * DAY + 5 * 3_600_000) // 2025-03-11 05:00 UTC
    const counts = await impersonationsPerDay(scope, now)
    expect(counts).toHaveLength(30)
    expect(counts[0]!.day).toBe("2025-02-10")
    expect(counts.at(-1)!.day).toBe("2025-03-11")
    expect(counts).toEqual(await expectedPerDay(lastDays(now, 30), { organizationId: orgA.id }))
    expect(counts.reduce((sum, day) => sum + day.count, 0)).toBe(12) // A's 12 starts, nothing else
    expect(counts.filter((day) => day.count === 0).length).toBeGreaterThan(20)
  })

  it("platform staff count every start; organization B's admin only B's", async () => {
    const now = new Date()
    const days = lastDays(now, 30)
    expect(await impersonationsPerDay(WHOLE_PLATFORM, now)).toEqual(await expectedPerDay(days, {}))
    const bNow = new Date(BASE + 5 * DAY)
    expect(await impersonationsPerDay(await scopeOf(adminB.id), bNow)).toEqual(
      await expectedPerDay(lastDays(bNow, 30), { organizationId: orgB.id }),
    )
  })
})

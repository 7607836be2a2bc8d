import { Client } from "pg"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import db, { engine } from "db"
import { serverConfig } from "app/core/serverConfig"
import { REFUSAL_MESSAGES, monthStart } from "app/impersonation/policy"
import { TestBrowser } from "test/helpers/browser"
import { createUser, rowCounts } from "test/helpers/fixtures"
import { signIn, currentUser } from "test/helpers/session"

/**
 * Issue 6, item 7, the impersonation side: the per-admin monthly quota
 * (IMPERSONATION_MONTHLY_QUOTA) and the off-switch (IMPERSONATION_ENABLED=false), set here
 * in-process on the server's own configuration and restored after each test.
 */

type Person = { id: number; email: string }
type Started = { impersonationId: number }

const configAtStart = { ...serverConfig.impersonation }
afterEach(() => {
  Object.assign(serverConfig.impersonation, configAtStart)
})

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

function start(browser: TestBrowser, target: Person, reason = "quota check") {
  return browser.rpc<Started>("impersonateUser", { userId: target.id, reason })
}

async function startAndStop(browser: TestBrowser, target: Person) {
  const res = await start(browser, target)
  expect(res.error).toBeNull()
  expect((await browser.rpc("stopImpersonating", {})).error).toBeNull()
  return res.result!.impersonationId
}

const quotaMessage = (limit: number) =>
  `You have used your monthly quota of ${limit} impersonation${limit === 1 ? "" : "s"}; ` +
  "it renews on the 1st of next month (UTC)"

function startsOf(actorId: number) {
  return db.impersonation.count({ where: { actorId, startedAt: { gte: monthStart(new Date()) } } })
}

function lastRefusal(actorId: number) {
  return db.auditEvent.findFirst({ where: { actorId, action: "IMPERSONATION_REFUSED" }, orderBy: { id: "desc" } })
}

describe("monthly quota", () => {
  it("refuses the start over the quota with a message naming it, audits the refusal, and changes nothing else", async () => {
    serverConfig.impersonation.monthlyQuota = 2
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const [t1, t2, t3] = [await createUser({ label: "t1" }), await createUser({ label: "t2" }), await createUser({ label: "t3" })]
    const browser = await signIn(support)
    await startAndStop(browser, t1)
    await startAndStop(browser, t2)
    const handle = (await browser.pageSession()).$handle
    const before = await rowCounts()

    const refused = await start(browser, t3, "third this month")
    expect(refused.result).toBeNull()
    expect(refused.error).toMatchObject({ code: "QUOTA", statusCode: 403, message: quotaMessage(2) })

    // Audited with its code; nothing else was written, and the admin keeps their session.
    expect(await rowCounts()).toEqual({ ...before, auditEvents: before.auditEvents + 1 })
    const refusal = await lastRefusal(support.id)
    expect(refusal).toMatchObject({ subjectId: t3.id, impersonationId: null })
    expect(refusal?.details).toMatchObject({ code: "QUOTA", reason: "third this month" })
    expect(await db.impersonation.count({ where: { subjectId: t3.id } })).toBe(0)
    expect(await startsOf(support.id)).toBe(2)
    expect((await browser.pageSession()).$handle).toBe(handle)
    expect(await currentUser(browser)).toMatchObject({ id: support.id, impersonator: null })

    // The quota is per admin: another admin is not affected.
    const otherSupport = await createUser({ label: "support2", role: "SUPPORT" })
    expect((await start(await signIn(otherSupport), t3)).error).toBeNull()
    // Raising the limit lets the same admin start again.
    serverConfig.impersonation.monthlyQuota = 3
    expect((await start(browser, t3)).error).toBeNull()
  })

  it("counts only this calendar month's starts", async () => {
    serverConfig.impersonation.monthlyQuota = 1
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const [t1, t2] = [await createUser({ label: "t1" }), await createUser({ label: "t2" })]
    // Started (and ended) in the last moment of the previous month.
    const lastMonth = new Date(monthStart(new Date()).getTime() - 1)
    await db.impersonation.create({
      data: {
        actorId: support.id,
        subjectId: t1.id,
        reason: "last month",
        startedAt: lastMonth,
        expiresAt: new Date(lastMonth.getTime() + 60_000),
        endedAt: new Date(lastMonth.getTime() + 1),
        endReason: "STOPPED",
        endedById: support.id,
      },
    })
    const browser = await signIn(support)

    await startAndStop(browser, t1)
    const refused = await start(browser, t2)
    expect(refused.error).toMatchObject({ code: "QUOTA", message: quotaMessage(1) })
    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(2)
  })

  it("lets concurrent starts by one admin from several sessions never exceed it", async () => {
    serverConfig.impersonation.monthlyQuota = 1
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const targets = [await createUser({ label: "t1" }), await createUser({ label: "t2" }), await createUser({ label: "t3" })]
    const browsers = [await signIn(support), await signIn(support), await signIn(support)]

    const results = await Promise.all(browsers.map((browser, i) => start(browser, targets[i]!, `race ${i}`)))

    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(1)
    expect(results.filter((res) => res.error === null)).toHaveLength(1)
    for (const [i, res] of results.entries()) {
      if (res.error === null) continue
      // The losers are told why, and keep their own session.
      expect(["QUOTA", "CONCURRENT_START"]).toContain(res.error.code)
      expect(await currentUser(browsers[i]!)).toMatchObject({ id: support.id, impersonator: null })
    }
  })

  it.skipIf(engine.kind !== "postgres")(
    "re-counts inside the start's transaction: a start that passed the first check while another started and stopped is refused",
    async () => {
      serverConfig.impersonation.monthlyQuota = 1
      const support = await createUser({ label: "support", role: "SUPPORT" })
      const [t1, t2] = [await createUser({ label: "t1" }), await createUser({ label: "t2" })]
      const [first, late] = [await signIn(support), await signIn(support)]
      const lateHandle = (await late.pageSession()).$handle!

      // Hold the late browser's session row: its start passes the first quota check, then waits
      // at the first statement of its transaction (consuming that row) until released.
      const blocker = new Client({ connectionString: process.env.DATABASE_URL })
      await blocker.connect()
      try {
        await blocker.query("BEGIN")
        await blocker.query(`SELECT 1 FROM "Session" WHERE "handle" = $1 FOR UPDATE`, [lateHandle])
        const lateStart = start(late, t2, "late")
        await waitForLockWaiter(blocker)
        // Meanwhile the first browser starts and stops: the month's one start is used.
        await startAndStop(first, t1)
        await blocker.query("COMMIT")
        const refused = await lateStart
        expect(refused.error).toMatchObject({ code: "QUOTA", message: quotaMessage(1) })
      } finally {
        await blocker.end()
      }
      expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(1)
      expect(await currentUser(late)).toMatchObject({ id: support.id, impersonator: null })
      expect((await lastRefusal(support.id))?.details).toMatchObject({ code: "QUOTA", reason: "late" })
    },
  )
})

/** Resolves once another connection to this database waits on a lock (the blocked start). */
async function waitForLockWaiter(client: Client) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { rows } = await client.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    )
    if (rows[0]!.waiting > 0) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error("the start never reached its transaction")
}

describe("off-switch (IMPERSONATION_ENABLED=false)", () => {
  it("ends live impersonations at their next request as FEATURE_DISABLED, audited once, back with their admins", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const [t1, t2] = [await createUser({ label: "t1" }), await createUser({ label: "t2" })]
    const rpcBrowser = await signIn(support)
    const pageBrowser = await signIn(superadmin)
    const viaRpc = (await start(rpcBrowser, t1)).result!.impersonationId
    const viaPage = (await start(pageBrowser, t2)).result!.impersonationId

    serverConfig.impersonation.enabled = false
    // Nothing happens until each browser's next request.
    expect(await db.impersonation.count({ where: { id: { in: [viaRpc, viaPage] }, endedAt: null } })).toBe(2)

    expect(await currentUser(rpcBrowser)).toMatchObject({ id: support.id, impersonator: null })
    expect((await pageBrowser.pageSession()).userId).toBe(superadmin.id)
    for (const [id, admin] of [[viaRpc, support], [viaPage, superadmin]] as const) {
      const row = await db.impersonation.findUniqueOrThrow({ where: { id } })
      expect(row).toMatchObject({ endReason: "FEATURE_DISABLED", endedById: null })
      expect(row.endedAt).toBeInstanceOf(Date)
      const ended = await db.auditEvent.findMany({ where: { impersonationId: id, action: "IMPERSONATION_ENDED" } })
      expect(ended).toHaveLength(1)
      expect(ended[0]).toMatchObject({ actorId: admin.id })
      expect(ended[0]?.details).toMatchObject({ endReason: "FEATURE_DISABLED" })
    }
    // Later requests record nothing more.
    expect(await currentUser(rpcBrowser)).toMatchObject({ id: support.id })
    expect(await currentUser(pageBrowser)).toMatchObject({ id: superadmin.id })
    expect(
      await db.auditEvent.count({ where: { impersonationId: { in: [viaRpc, viaPage] }, action: "IMPERSONATION_ENDED" } }),
    ).toBe(2)
  })

  it("refuses new starts with FEATURE_DISABLED, audited, nothing else changed; on again, starts work", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    serverConfig.impersonation.enabled = false
    const before = await rowCounts()

    const refused = await start(browser, target, "while off")
    expect(refused.result).toBeNull()
    expect(refused.error).toMatchObject({ code: "FEATURE_DISABLED", statusCode: 403, message: REFUSAL_MESSAGES.FEATURE_DISABLED })
    expect(await rowCounts()).toEqual({ ...before, auditEvents: before.auditEvents + 1 })
    expect((await lastRefusal(support.id))?.details).toMatchObject({ code: "FEATURE_DISABLED", reason: "while off" })
    expect(await currentUser(browser)).toMatchObject({ id: support.id, impersonator: null })

    serverConfig.impersonation.enabled = true
    expect((await start(browser, target)).error).toBeNull()
    expect(await currentUser(browser)).toMatchObject({ id: target.id, impersonator: { id: support.id } })
  })
})

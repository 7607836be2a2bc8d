import { beforeAll, describe, expect, it, vi } from "vitest"
import db from "db"
import { sealPendingAuditEvents } from "app/audit/log"
import { settleAuditSealing } from "app/audit/sealer"
import { loadAccessHistory, type AccessHistoryPage } from "app/access/history"
import type { LiveAccess } from "app/access/live"
import type { EndReason } from "app/impersonation/policy"
import type { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createOrganization, createUser } from "test/helpers/fixtures"
import { currentUser, signIn, stop } from "test/helpers/session"

/**
 * Issue 8, items 1, 3 and 4 through the real RPC route: the user's consent and the
 * organization floor, the live notice with "End access", and the access history.
 */

type Person = Awaited<ReturnType<typeof createUser>>

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

async function impersonate(
  admin: Person,
  subject: Person,
  options: { reason?: string; ticketUrl?: string; mode?: "READ_ONLY" | "READ_WRITE" } = {},
) {
  const browser = await signIn(admin)
  const res = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
    userId: subject.id,
    reason: options.reason ?? "Ticket 8: user side",
    ...(options.ticketUrl ? { ticketUrl: options.ticketUrl } : {}),
    ...(options.mode === "READ_WRITE" ? { mode: "READ_WRITE", password: PASSWORD } : {}),
  })
  expect(res.error).toBeNull()
  const impersonationId = res.result!.impersonationId
  expect(await currentUser(browser)).toMatchObject({ id: subject.id, impersonator: { id: admin.id } })
  return { browser, impersonationId }
}

async function expectLive(impersonationId: number) {
  expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).toMatchObject({ endedAt: null, endReason: null })
}

/** Ended once, for this reason, on its row and in its one audit event. */
async function expectEnded(impersonationId: number, endReason: EndReason, endedById: number | null = null) {
  const row = await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })
  expect(row).toMatchObject({ endReason, endedById })
  expect(row.endedAt).toBeInstanceOf(Date)
  const events = await db.auditEvent.findMany({ where: { impersonationId, action: "IMPERSONATION_ENDED" } })
  expect(events).toHaveLength(1)
  expect(events[0]!.details).toMatchObject({ endReason, endedById })
}

/** The impersonating browser's next request hands it back to its admin. */
async function expectBackToAdmin(browser: TestBrowser, admin: Person) {
  expect(await currentUser(browser)).toMatchObject({ id: admin.id, impersonator: null })
}

async function approvedRequest(actor: Person, subject: Person, hours = 2) {
  const now = new Date()
  return db.accessRequest.create({
    data: {
      createdAt: now,
      actorId: actor.id,
      subjectId: subject.id,
      reason: "Ticket 8: approved access",
      mode: "READ_ONLY",
      hours,
      requestExpiresAt: new Date(now.getTime() + 24 * 3_600_000),
      status: "APPROVED",
      approvedMode: "READ_ONLY",
      approvedHours: hours,
      expiresAt: new Date(now.getTime() + hours * 3_600_000),
      decidedAt: now,
    },
  })
}

const consentEvents = (userId: number) =>
  db.auditEvent.findMany({ where: { action: "CONSENT_CHANGED", subjectId: userId }, orderBy: { id: "asc" } })

describe("setImpersonationConsent", () => {
  it("sets each value for the signed-in user's own account, audited from -> to; the same value writes nothing", async () => {
    const user = await createUser({ label: "consent" })
    const browser = await signIn(user)
    const steps = [
      ["ASK", "ALLOWED"],
      ["NEVER", "ASK"],
      ["ALLOWED", "NEVER"],
    ] as const
    for (const [to, from] of steps) {
      const res = await browser.rpc<{ consent: string; effective: string; changed: boolean }>("setImpersonationConsent", { consent: to })
      expect(res.error).toBeNull()
      expect(res.result).toMatchObject({ consent: to, effective: to, changed: true, strictestFloor: null })
      expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).impersonationConsent).toBe(to)
      const last = (await consentEvents(user.id)).at(-1)!
      expect(last).toMatchObject({ actorId: user.id, subjectId: user.id, impersonationId: null, organizationId: null })
      expect(last.details).toEqual({ from, to })
    }
    expect(await consentEvents(user.id)).toHaveLength(3)

    const same = await browser.rpc<{ changed: boolean }>("setImpersonationConsent", { consent: "ALLOWED" })
    expect(same.error).toBeNull()
    expect(same.result).toMatchObject({ consent: "ALLOWED", changed: false })
    expect(await consentEvents(user.id)).toHaveLength(3)

    const state = await browser.rpc("getImpersonationConsent")
    expect(state.result).toEqual({ consent: "ALLOWED", effective: "ALLOWED", strictestFloor: null, impersonating: false })
  })

  it("refuses anything but the three values, and a signed-out caller, changing nothing", async () => {
    const user = await createUser({ label: "consent-bad" })
    const browser = await signIn(user)
    for (const input of [{ consent: "MAYBE" }, { consent: "ask" }, {}, { consent: "NEVER", userId: 1 }]) {
      const res = await browser.rpc("setImpersonationConsent", input)
      expect(res.error).toMatchObject({ name: "InputValidationError" })
    }
    const { TestBrowser } = await import("test/helpers/browser")
    const anonymous = await new TestBrowser().rpc("setImpersonationConsent", { consent: "NEVER" })
    expect(anonymous.error).toMatchObject({ name: "AuthenticationError" })
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).impersonationConsent).toBe("ALLOWED")
    expect(await consentEvents(user.id)).toHaveLength(0)
  })

  it("NEVER ends a live impersonation at the admin's next request (TARGET_REVOKED); the admin's browser is theirs again", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "consent-never" })
    const { browser: impersonating, impersonationId } = await impersonate(support, user)
    const own = await signIn(user)
    expect((await own.rpc("setImpersonationConsent", { consent: "NEVER" })).error).toBeNull()
    await expectLive(impersonationId)
    await expectBackToAdmin(impersonating, support)
    await expectEnded(impersonationId, "TARGET_REVOKED")
    // And no new start.
    const again = await impersonating.rpc("impersonateUser", { userId: user.id, reason: "Ticket 8: again" })
    expect(again.error).toMatchObject({ code: "TARGET_OPTED_OUT" })
  })

  it("ASK ends a live impersonation that no approval covers (TARGET_REVOKED)", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "consent-ask" })
    const { browser: impersonating, impersonationId } = await impersonate(support, user)
    const own = await signIn(user)
    expect((await own.rpc("setImpersonationConsent", { consent: "ASK" })).error).toBeNull()
    await expectBackToAdmin(impersonating, support)
    await expectEnded(impersonationId, "TARGET_REVOKED")
  })

  it("ASK keeps an impersonation running under the user's live approval; NEVER still ends it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "consent-approved", impersonationConsent: "ASK" })
    const request = await approvedRequest(support, user)
    const { browser: impersonating, impersonationId } = await impersonate(support, user)
    expect((await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).accessRequestId).toBe(request.id)
    const own = await signIn(user)
    // Allowed, then back to ASK: the approval still covers it.
    expect((await own.rpc("setImpersonationConsent", { consent: "ALLOWED" })).error).toBeNull()
    expect((await own.rpc("setImpersonationConsent", { consent: "ASK" })).error).toBeNull()
    expect(await currentUser(impersonating)).toMatchObject({ id: user.id, impersonator: { id: support.id } })
    await expectLive(impersonationId)
    expect((await own.rpc("setImpersonationConsent", { consent: "NEVER" })).error).toBeNull()
    await expectBackToAdmin(impersonating, support)
    await expectEnded(impersonationId, "TARGET_REVOKED")
  })

  it("the approval revoked under a running impersonation ends it as the user's End (ENDED_BY_USER)", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "consent-revoked", impersonationConsent: "ASK" })
    const request = await approvedRequest(support, user)
    const { browser: impersonating, impersonationId } = await impersonate(support, user)
    await db.accessRequest.update({ where: { id: request.id }, data: { status: "REVOKED", revokedAt: new Date() } })
    await expectBackToAdmin(impersonating, support)
    await expectEnded(impersonationId, "ENDED_BY_USER")
  })

  it("is never the admin's to change while acting as the user, in any mode", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "consent-imp" })
    const { browser: impersonating, impersonationId } = await impersonate(support, user, { mode: "READ_WRITE" })
    const res = await impersonating.rpc("setImpersonationConsent", { consent: "NEVER" })
    expect(res.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION" })
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).impersonationConsent).toBe("ALLOWED")
    expect(await consentEvents(user.id)).toHaveLength(0)
    // What the page shows the admin: the user's setting, marked as not theirs to change.
    expect((await impersonating.rpc("getImpersonationConsent")).result).toMatchObject({ consent: "ALLOWED", impersonating: true })
    await expectLive(impersonationId)
  })
})

describe("setOrganizationConsentFloor", () => {
  async function organization() {
    const org = await createOrganization("floor")
    const owner = await createUser({ label: "owner", organization: { id: org.id, role: "OWNER" } })
    const admin = await createUser({ label: "admin", organization: { id: org.id, role: "ADMIN" } })
    const member = await createUser({ label: "member", organization: { id: org.id, role: "MEMBER" } })
    return { org, owner, admin, member }
  }
  const floorEvents = (organizationId: number) =>
    db.auditEvent.findMany({ where: { action: "CONSENT_FLOOR_CHANGED", organizationId }, orderBy: { id: "asc" } })
  const floorOf = async (organizationId: number) =>
    (await db.organization.findUniqueOrThrow({ where: { id: organizationId } })).consentFloor

  it("an OWNER sets it, audited from -> to; the same value writes nothing", async () => {
    const { org, owner } = await organization()
    const browser = await signIn(owner)
    for (const [to, from] of [["ASK", "ALLOWED"], ["NEVER", "ASK"], ["ALLOWED", "NEVER"]] as const) {
      const res = await browser.rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: to })
      expect(res.error).toBeNull()
      expect(res.result).toEqual({ organizationId: org.id, floor: to, changed: true })
      expect(await floorOf(org.id)).toBe(to)
      const last = (await floorEvents(org.id)).at(-1)!
      expect(last).toMatchObject({ actorId: owner.id, subjectId: null, impersonationId: null, organizationId: org.id })
      expect(last.details).toEqual({ from, to })
    }
    const same = await browser.rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: "ALLOWED" })
    expect(same.result).toEqual({ organizationId: org.id, floor: "ALLOWED", changed: false })
    expect(await floorEvents(org.id)).toHaveLength(3)
  })

  it("an ADMIN, a MEMBER, an outsider and platform staff get the answer an unknown organization gets", async () => {
    const { org, admin, member } = await organization()
    const outsider = await createUser({ label: "outsider" })
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const owner = await signIn((await organization()).owner)
    const unknown = await owner.rpc("setOrganizationConsentFloor", { organizationId: 2_147_000_000, floor: "NEVER" })
    expect(unknown.error).toMatchObject({ name: "NotFoundError", statusCode: 404 })
    for (const person of [admin, member, outsider, superadmin]) {
      const res = await (await signIn(person)).rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: "NEVER" })
      expect(res.error).toEqual(unknown.error)
    }
    expect(await floorOf(org.id)).toBe("ALLOWED")
    expect(await floorEvents(org.id)).toHaveLength(0)
  })

  it("ASK makes a start answer APPROVAL_REQUIRED; NEVER gives ORGANIZATION_FORBIDS, to support and the organization's own admins", async () => {
    const { org, owner, admin, member } = await organization()
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const byOwner = await signIn(owner)
    const bySupport = await signIn(support)
    const byAdmin = await signIn(admin)
    const start = (browser: TestBrowser) => browser.rpc("impersonateUser", { userId: member.id, reason: "Ticket 8: floor" })

    expect((await byOwner.rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: "ASK" })).error).toBeNull()
    // The member's own setting stays theirs; what applies is the floor, and the page says why.
    const seen = await (await signIn(member)).rpc("getImpersonationConsent")
    expect(seen.result).toMatchObject({
      consent: "ALLOWED",
      effective: "ASK",
      strictestFloor: { organizationId: org.id, organizationName: org.name, floor: "ASK" },
    })
    for (const browser of [bySupport, byAdmin]) {
      expect((await start(browser)).error).toMatchObject({ code: "APPROVAL_REQUIRED" })
    }

    expect((await byOwner.rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: "NEVER" })).error).toBeNull()
    for (const browser of [bySupport, byAdmin, byOwner]) {
      expect((await start(browser)).error).toMatchObject({ code: "ORGANIZATION_FORBIDS" })
    }
    expect(await db.impersonation.count({ where: { subjectId: member.id } })).toBe(0)
  })

  it("a floor raised to NEVER ends a live impersonation of a member at its next request (TARGET_REVOKED)", async () => {
    const { org, owner, admin, member } = await organization()
    const { browser: impersonating, impersonationId } = await impersonate(admin, member)
    expect((await (await signIn(owner)).rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: "NEVER" })).error).toBeNull()
    await expectLive(impersonationId)
    await expectBackToAdmin(impersonating, admin)
    await expectEnded(impersonationId, "TARGET_REVOKED")
  })

  it("is refused inside an impersonation, even one started by the OWNER", async () => {
    const { org, owner, member } = await organization()
    const { browser: impersonating } = await impersonate(owner, member, { mode: "READ_WRITE" })
    const res = await impersonating.rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: "NEVER" })
    expect(res.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION" })
    expect(await floorOf(org.id)).toBe("ALLOWED")
  })

  it("refuses a floor that is not one of the three values", async () => {
    const { org, owner } = await organization()
    const browser = await signIn(owner)
    for (const input of [{ organizationId: org.id, floor: "SOMETIMES" }, { organizationId: "1", floor: "NEVER" }, { floor: "NEVER" }]) {
      expect((await browser.rpc("setOrganizationConsentFloor", input)).error).toMatchObject({ name: "InputValidationError" })
    }
    expect(await floorOf(org.id)).toBe("ALLOWED")
  })
})

describe("the live notice and End access", () => {
  it("the user sees who is in the account now and ends it; the admin's next request is the admin's own again", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "live" })
    const own = await signIn(user)
    expect((await own.rpc<LiveAccess[]>("getLiveAccess")).result).toEqual([])
    const ticketUrl = "https://tickets.example/8"
    const { browser: impersonating, impersonationId } = await impersonate(support, user, { reason: "Ticket 8: invoices", ticketUrl })
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })

    const live = await own.rpc<LiveAccess[]>("getLiveAccess")
    expect(live.error).toBeNull()
    expect(live.result).toEqual([
      {
        id: impersonationId,
        admin: { name: support.name },
        organization: null,
        startedAt: row.startedAt,
        expiresAt: row.expiresAt,
        reason: "Ticket 8: invoices",
        ticketUrl,
        mode: "READ_ONLY",
      },
    ])

    const ended = await own.rpc("endAccessByUser", { id: impersonationId })
    expect(ended.error).toBeNull()
    expect(ended.result).toEqual({ endedIds: [impersonationId] })
    await expectEnded(impersonationId, "ENDED_BY_USER", user.id)
    expect((await own.rpc<LiveAccess[]>("getLiveAccess")).result).toEqual([])
    await expectBackToAdmin(impersonating, support)
    // The user's own session is untouched.
    expect(await currentUser(own)).toMatchObject({ id: user.id, impersonator: null })
    // Pressing it again ends nothing more.
    expect((await own.rpc("endAccessByUser", { id: impersonationId })).result).toEqual({ endedIds: [] })
    await expectEnded(impersonationId, "ENDED_BY_USER", user.id)
  })

  it("without an id it ends every live impersonation of the user, and no one else's", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const user = await createUser({ label: "live-all" })
    const other = await createUser({ label: "live-other" })
    const first = await impersonate(support, user)
    const second = await impersonate(superadmin, user)
    const elsewhere = await impersonate(await createUser({ label: "support2", role: "SUPPORT" }), other)
    const own = await signIn(user)
    expect((await own.rpc<LiveAccess[]>("getLiveAccess")).result!.map((l) => l.id)).toEqual([second.impersonationId, first.impersonationId])
    const ended = await own.rpc<{ endedIds: number[] }>("endAccessByUser", {})
    expect(ended.result!.endedIds.sort((a, b) => a - b)).toEqual([first.impersonationId, second.impersonationId])
    await expectEnded(first.impersonationId, "ENDED_BY_USER", user.id)
    await expectEnded(second.impersonationId, "ENDED_BY_USER", user.id)
    await expectBackToAdmin(first.browser, support)
    await expectBackToAdmin(second.browser, superadmin)
    await expectLive(elsewhere.impersonationId)
    // No input at all means the same.
    expect((await own.rpc("endAccessByUser")).result).toEqual({ endedIds: [] })
  })

  it("another user's impersonation id gets the answer an unknown id gets, and stays live", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const victim = await createUser({ label: "live-victim" })
    const stranger = await signIn(await createUser({ label: "live-stranger" }))
    const { impersonationId } = await impersonate(support, victim)
    const theirs = await stranger.rpc("endAccessByUser", { id: impersonationId })
    const unknown = await stranger.rpc("endAccessByUser", { id: 2_147_000_000 })
    expect(unknown.error).toMatchObject({ name: "NotFoundError", statusCode: 404 })
    expect(theirs.error).toEqual(unknown.error)
    await expectLive(impersonationId)
    // Nor does the stranger see it.
    expect((await stranger.rpc("getLiveAccess")).result).toEqual([])
  })

  it("the impersonating session can neither see the notice nor end access (the admin acting as the user)", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "live-imp" })
    const { browser: impersonating, impersonationId } = await impersonate(support, user, { mode: "READ_WRITE" })
    const seen = await impersonating.rpc("getLiveAccess")
    expect(seen.result).toBeNull()
    expect(seen.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION", statusCode: 403 })
    for (const input of [{ id: impersonationId }, {}]) {
      const res = await impersonating.rpc("endAccessByUser", input)
      expect(res.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION" })
    }
    const history = await impersonating.rpc("getAccessHistory", {})
    expect(history.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION" })
    await expectLive(impersonationId)
    expect(await currentUser(impersonating)).toMatchObject({ id: user.id, impersonator: { id: support.id } })
  })

  it("an impersonation past its time limit is not shown as live, and End access does not rewrite its end", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "live-expired" })
    const { impersonationId } = await impersonate(support, user)
    await db.impersonation.update({ where: { id: impersonationId }, data: { expiresAt: new Date(Date.now() - 1000) } })
    const own = await signIn(user)
    expect((await own.rpc("getLiveAccess")).result).toEqual([])
    expect((await own.rpc("endAccessByUser", { id: impersonationId })).result).toEqual({ endedIds: [] })
    expect((await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).endReason).toBeNull()
  })
})

describe("getAccessHistory", () => {
  it("lists exactly what happened, newest first, with counts, end reasons and keyset paging", async () => {
    const org = await createOrganization("history")
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const orgAdmin = await createUser({ label: "admin", organization: { id: org.id, role: "ADMIN" } })
    const user = await createUser({ label: "history", organization: { id: org.id, role: "MEMBER" } })
    await db.user.update({ where: { id: user.id }, data: { phone: "+1 555 0100 7788" } })
    const own = await signIn(user)
    expect((await own.rpc<AccessHistoryPage>("getAccessHistory")).result).toEqual({ entries: [], olderCursor: null, newerCursor: null })

    // 1. Support, read-write: two changes, one that failed, one refused action, one reveal; Stop.
    const a = await impersonate(support, user, { reason: "Ticket 8: first", ticketUrl: "https://tickets.example/1", mode: "READ_WRITE" })
    expect((await a.browser.rpc("updateProfile", { name: "Changed once" })).error).toBeNull()
    expect((await a.browser.rpc("updateProfile", { name: "Changed twice" })).error).toBeNull()
    expect((await a.browser.rpc("updateProfile", { name: "" })).error).not.toBeNull()
    expect((await a.browser.rpc("changePassword", { currentPassword: PASSWORD, newPassword: "another-password-8" })).error).toMatchObject({
      code: "IMPERSONATION_REFUSED_ACTION",
    })
    expect((await a.browser.rpc("revealSensitiveField", { field: "User.phone", reason: "Verify the number" })).error).toBeNull()
    await stop(a.browser)

    // 2. The organization's admin, read-only: a refused change, two reveals; the user ends it.
    const b = await impersonate(orgAdmin, user, { reason: "Ticket 8: second" })
    expect((await b.browser.rpc("updateProfile", { name: "Refused" })).error).toMatchObject({ code: "IMPERSONATION_READ_ONLY" })
    for (const reason of ["Check one", "Check two"]) {
      expect((await b.browser.rpc("revealSensitiveField", { field: "User.phone", reason })).error).toBeNull()
    }
    expect((await own.rpc("endAccessByUser", {})).result).toEqual({ endedIds: [b.impersonationId] })
    await expectBackToAdmin(b.browser, orgAdmin)

    // 3. Support again, still going.
    const c = await impersonate(support, user, { reason: "Ticket 8: third" })

    // Someone else's history is not this user's.
    await impersonate(await createUser({ label: "support2", role: "SUPPORT" }), await createUser({ label: "history-other" }))

    const rows = await db.impersonation.findMany({ where: { subjectId: user.id }, orderBy: { id: "asc" } })
    const [rowA, rowB, rowC] = rows
    const page = await own.rpc<AccessHistoryPage>("getAccessHistory", {})
    expect(page.error).toBeNull()
    expect(page.result).toEqual({
      entries: [
        {
          id: c.impersonationId,
          admin: { name: support.name, email: support.email },
          organization: null,
          startedAt: rowC!.startedAt,
          endedAt: null,
          durationMs: null,
          reason: "Ticket 8: third",
          ticketUrl: null,
          mode: "READ_ONLY",
          changes: 0,
          reveals: 0,
          endReason: null,
          approval: null,
        },
        {
          id: b.impersonationId,
          admin: { name: orgAdmin.name, email: orgAdmin.email },
          organization: { name: org.name },
          startedAt: rowB!.startedAt,
          endedAt: rowB!.endedAt,
          durationMs: rowB!.endedAt!.getTime() - rowB!.startedAt.getTime(),
          reason: "Ticket 8: second",
          ticketUrl: null,
          mode: "READ_ONLY",
          changes: 0,
          reveals: 2,
          endReason: "ENDED_BY_USER",
          approval: null,
        },
        {
          id: a.impersonationId,
          admin: { name: support.name, email: support.email },
          organization: null,
          startedAt: rowA!.startedAt,
          endedAt: rowA!.endedAt,
          durationMs: rowA!.endedAt!.getTime() - rowA!.startedAt.getTime(),
          reason: "Ticket 8: first",
          ticketUrl: "https://tickets.example/1",
          mode: "READ_WRITE",
          changes: 2,
          reveals: 1,
          endReason: "STOPPED",
          approval: null,
        },
      ],
      olderCursor: null,
      newerCursor: null,
    })

    // Paging, one entry at a time, both ways.
    const ids = async (input: object) => {
      const res = await own.rpc<AccessHistoryPage>("getAccessHistory", input)
      expect(res.error).toBeNull()
      const { entries, olderCursor, newerCursor } = res.result!
      return { ids: entries.map((e) => e.id), olderCursor, newerCursor }
    }
    expect(await ids({ take: 1 })).toEqual({ ids: [c.impersonationId], olderCursor: c.impersonationId, newerCursor: null })
    expect(await ids({ take: 1, before: c.impersonationId })).toEqual({ ids: [b.impersonationId], olderCursor: b.impersonationId, newerCursor: b.impersonationId })
    expect(await ids({ take: 1, before: b.impersonationId })).toEqual({ ids: [a.impersonationId], olderCursor: null, newerCursor: a.impersonationId })
    expect(await ids({ take: 1, after: a.impersonationId })).toEqual({ ids: [b.impersonationId], olderCursor: b.impersonationId, newerCursor: b.impersonationId })
    expect(await ids({ take: 2, after: a.impersonationId })).toEqual({
      ids: [c.impersonationId, b.impersonationId],
      olderCursor: b.impersonationId,
      newerCursor: null,
    })
    expect(await ids({ take: 2, before: c.impersonationId })).toEqual({
      ids: [b.impersonationId, a.impersonationId],
      olderCursor: null,
      newerCursor: b.impersonationId,
    })
    await c.browser.rpc("stopImpersonating", {})
  })

  it("orders by start time, not by id, and marks an approval that covered an access", async () => {
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const user = await createUser({ label: "history-order", impersonationConsent: "ASK" })
    const request = await approvedRequest(superadmin, user)
    const first = await impersonate(superadmin, user)
    await stop(first.browser)
    const second = await impersonate(superadmin, user)
    await stop(second.browser)
    // An older access recorded later (an import, a clock step): it sorts by when it started.
    const startedAt = new Date(Date.now() - 3 * 24 * 3_600_000)
    const older = await db.impersonation.create({
      data: {
        actorId: superadmin.id,
        subjectId: user.id,
        reason: "Ticket 8: long ago",
        startedAt,
        expiresAt: new Date(startedAt.getTime() + 1_200_000),
      },
    })
    const own = await signIn(user)
    const page = (await own.rpc<AccessHistoryPage>("getAccessHistory", { take: 2 })).result!
    expect(page.entries.map((e) => e.id)).toEqual([second.impersonationId, first.impersonationId])
    expect(page.entries[0]!.approval).toEqual({ until: request.expiresAt, revokedAt: null })
    const revokedAt = new Date()
    await db.accessRequest.update({ where: { id: request.id }, data: { status: "REVOKED", revokedAt } })
    const afterRevoke = (await own.rpc<AccessHistoryPage>("getAccessHistory", { take: 2 })).result!
    expect(afterRevoke.entries.map((e) => e.approval)).toEqual([
      { until: request.expiresAt, revokedAt },
      { until: request.expiresAt, revokedAt },
    ])
    const rest = (await own.rpc<AccessHistoryPage>("getAccessHistory", { take: 2, before: page.olderCursor })).result!
    // Never ended on record, past its limit: it expired at its limit, 20 minutes long.
    expect(rest.entries).toMatchObject([
      { id: older.id, endReason: "EXPIRED", endedAt: older.expiresAt, durationMs: 1_200_000, approval: null },
    ])
    expect(rest.olderCursor).toBeNull()
  })

  it("refuses a cursor that is not an access to this user's account, and page sizes out of range", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const someoneElse = await createUser({ label: "history-else" })
    const { impersonationId } = await impersonate(support, someoneElse)
    const own = await signIn(await createUser({ label: "history-cursor" }))
    const theirs = await own.rpc("getAccessHistory", { before: impersonationId })
    const unknown = await own.rpc("getAccessHistory", { before: 2_147_000_000 })
    expect(unknown.error).toMatchObject({ name: "NotFoundError", statusCode: 404 })
    expect(theirs.error).toEqual(unknown.error)
    for (const input of [{ take: 0 }, { take: 101 }, { take: 1.5 }, { before: 1, after: 2 }, { cursor: 1 }]) {
      expect((await own.rpc("getAccessHistory", input)).error).toMatchObject({ name: "InputValidationError" })
    }
    expect((await own.rpc("getAccessHistory", { take: 100 })).error).toBeNull()
  })

  it("counts changes and reveals for a whole page in one grouped query, not one per row", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "history-queries" })
    for (let i = 0; i < 5; i++) {
      const { browser } = await impersonate(support, user, { reason: `Ticket 8: visit ${i}` })
      expect((await browser.rpc("revealSensitiveField", { field: "User.phone", reason: `Look ${i}` })).error).toBeNull()
      await stop(browser)
    }
    // Sealed first: the sealer reads the audit table too, a moment after each commit.
    await sealPendingAuditEvents()
    await settleAuditSealing()
    // Spies that pass every call through: they only count how the audit table is read.
    const spies = [
      vi.spyOn(db, "$queryRaw"),
      vi.spyOn(db.auditEvent, "count"),
      vi.spyOn(db.auditEvent, "findMany"),
      vi.spyOn(db.auditEvent, "groupBy"),
      vi.spyOn(db.auditEvent, "aggregate"),
    ]
    try {
      const page = await loadAccessHistory(user.id, { take: 5 })
      expect(page.entries.map((e) => e.reveals)).toEqual([1, 1, 1, 1, 1])
      expect(spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0)).toBe(1)
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
  })
})

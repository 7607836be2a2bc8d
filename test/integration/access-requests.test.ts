import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { expireAccessRequests } from "app/access/requests"
import { runOutboxPass } from "mailers/worker"
import type { AccessRequestsPanelData } from "app/access/queries/getAccessRequests"
import { serverConfig } from "app/core/serverConfig"
import { TestBrowser } from "test/helpers/browser"
import { callApi } from "test/helpers/actorTokenApi"
import { PASSWORD, createUser } from "test/helpers/fixtures"
import { currentUser, signIn } from "test/helpers/session"

/**
 * Issue 8, item 2: access requests, through the real RPC route and the actor-token JSON API.
 * A start against a user whose consent is ASK asks the user instead; the user approves, denies
 * or revokes; every step is audited once and the user is emailed through the outbox.
 */

type RpcError = { name: string; message: string; code?: string; statusCode?: number; meta?: { accessRequestId?: number; retryAfter?: string } }

async function supportAndAskUser() {
  const admin = await createUser({ label: "support", role: "SUPPORT" })
  const user = await createUser({ label: "ask", impersonationConsent: "ASK" })
  const adminBrowser = await signIn(admin)
  const userBrowser = await signIn(user)
  return { admin, user, adminBrowser, userBrowser }
}

async function start(browser: TestBrowser, userId: number, extra: Record<string, unknown> = {}) {
  return browser.rpc<{ impersonationId: number; expiresAt: Date }>("impersonateUser", {
    userId,
    reason: "Ticket 81: the export is empty",
    ticketUrl: "https://tickets.example.com/81",
    ...extra,
  })
}

/** A start that must be refused with APPROVAL_REQUIRED: the request's id. */
async function startAsksApproval(browser: TestBrowser, userId: number, extra: Record<string, unknown> = {}) {
  const res = await start(browser, userId, extra)
  const error = res.error as RpcError | null
  expect(error).toMatchObject({ code: "APPROVAL_REQUIRED" })
  expect(error!.message).toMatch(/^Waiting for the user's approval/)
  expect(error!.meta?.accessRequestId).toEqual(expect.any(Number))
  return error!.meta!.accessRequestId!
}

async function decide(browser: TestBrowser, input: Record<string, unknown>) {
  return browser.rpc<{ status: string; expiresAt: Date | null }>("decideAccessRequest", input)
}

async function requestsOf(browser: TestBrowser) {
  const res = await browser.rpc<AccessRequestsPanelData>("getAccessRequests", {})
  expect(res.error).toBeNull()
  return res.result!
}

/** The audit events about one request, by action. */
async function eventsOfRequest(accessRequestId: number) {
  const row = await db.accessRequest.findUniqueOrThrow({ where: { id: accessRequestId } })
  const events = await db.auditEvent.findMany({
    where: { subjectId: row.subjectId, action: { in: ["ACCESS_REQUESTED", "ACCESS_APPROVED", "ACCESS_DENIED", "ACCESS_REVOKED", "ACCESS_REQUEST_EXPIRED"] } },
    orderBy: { id: "asc" },
  })
  return events.filter((event) => (event.details as { accessRequestId?: number }).accessRequestId === accessRequestId)
}

function actionsOf(events: Array<{ action: string }>) {
  return events.map((event) => event.action)
}

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("a start against a user who approves each access", () => {
  it("creates one request, no impersonation, an audit event and an email; a second start points at it", async () => {
    const { admin, user, adminBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id, { hours: 3 })

    expect(await db.impersonation.count({ where: { subjectId: user.id } })).toBe(0)
    const requests = await db.accessRequest.findMany({ where: { subjectId: user.id } })
    expect(requests).toHaveLength(1)
    expect(requests[0]).toMatchObject({
      id,
      actorId: admin.id,
      status: "PENDING",
      reason: "Ticket 81: the export is empty",
      ticketUrl: "https://tickets.example.com/81",
      mode: "READ_ONLY",
      hours: 3,
      organizationId: null,
    })
    const ttl = requests[0]!.requestExpiresAt.getTime() - requests[0]!.createdAt.getTime()
    expect(ttl).toBe(24 * 60 * 60_000)
    // The admin's browser is still the admin's own.
    expect(await currentUser(adminBrowser)).toMatchObject({ id: admin.id, impersonator: null })

    const events = await eventsOfRequest(id)
    expect(actionsOf(events)).toEqual(["ACCESS_REQUESTED"])
    expect(events[0]).toMatchObject({ actorId: admin.id, subjectId: user.id })
    expect(events[0]!.details).toMatchObject({ mode: "READ_ONLY", hours: 3, reason: "Ticket 81: the export is empty" })

    const emails = await db.outboxMessage.findMany({ where: { to: user.email } })
    expect(emails).toHaveLength(1)
    expect(emails[0]).toMatchObject({ kind: "EMAIL", status: "PENDING", auditEventId: events[0]!.id })
    expect(emails[0]!.subject).toBe(`${admin.name} asks to access your account`)
    expect(emails[0]!.text).toContain(`${admin.name} (${admin.email}) asks to access your account`)
    expect(emails[0]!.text).toContain('Why: "Ticket 81: the export is empty"')
    expect(emails[0]!.text).toContain("For how long: 3 hours")
    expect(emails[0]!.text).toContain("Mode: read-only")
    // No APP_ORIGIN in tests: the page is named, never a link built from the request's Host.
    expect(emails[0]!.text).toContain("Security page")
    expect(emails[0]!.text).not.toMatch(/https?:\/\/localhost/)

    // Again: the same request, no second request, event or email; the refusal itself is audited.
    expect(await startAsksApproval(adminBrowser, user.id)).toBe(id)
    expect(await db.accessRequest.count({ where: { subjectId: user.id } })).toBe(1)
    expect(actionsOf(await eventsOfRequest(id))).toEqual(["ACCESS_REQUESTED"])
    expect(await db.outboxMessage.count({ where: { to: user.email } })).toBe(1)
    const refused = await db.auditEvent.findMany({ where: { subjectId: user.id, action: "IMPERSONATION_REFUSED" } })
    expect(refused).toHaveLength(1)
    expect(refused[0]!.details).toMatchObject({ code: "APPROVAL_REQUIRED", accessRequestId: id })
  })

  it("links to the Security page on APP_ORIGIN when it is set", async () => {
    const { user, adminBrowser } = await supportAndAskUser()
    const saved = serverConfig.http.appOrigin
    try {
      ;(serverConfig.http as { appOrigin: string | null }).appOrigin = "https://support.example.com"
      await startAsksApproval(adminBrowser, user.id)
    } finally {
      ;(serverConfig.http as { appOrigin: string | null }).appOrigin = saved
    }
    const email = await db.outboxMessage.findFirstOrThrow({ where: { to: user.email } })
    expect(email.text).toContain("https://support.example.com/account/security")
  })

  it("concurrent starts create one request", async () => {
    const { user, adminBrowser } = await supportAndAskUser()
    const results = await Promise.all(
      Array.from({ length: 4 }, () => start(adminBrowser, user.id)),
    )
    const ids = new Set(results.map((res) => (res.error as RpcError).meta?.accessRequestId))
    expect(results.every((res) => (res.error as RpcError).code === "APPROVAL_REQUIRED")).toBe(true)
    expect(ids.size).toBe(1)
    expect(await db.accessRequest.count({ where: { subjectId: user.id } })).toBe(1)
    expect(await db.outboxMessage.count({ where: { to: user.email } })).toBe(1)
  })

  it("refuses hours outside 1..24 and changes nothing", async () => {
    const { user, adminBrowser } = await supportAndAskUser()
    for (const hours of [0, 25, 1.5, "2"]) {
      const res = await start(adminBrowser, user.id, { hours })
      expect(res.error?.name).toBe("InputValidationError")
    }
    expect(await db.accessRequest.count({ where: { subjectId: user.id } })).toBe(0)
  })

  it("an organization floor of ASK makes a member with ALLOWED consent ask too, with the organization recorded", async () => {
    const org = await db.organization.create({ data: { name: `floor-${Date.now()}-${Math.random()}`, consentFloor: "ASK" } })
    const owner = await createUser({ label: "owner", organization: { id: org.id, role: "OWNER" } })
    const member = await createUser({ label: "member", organization: { id: org.id, role: "MEMBER" } })
    const ownerBrowser = await signIn(owner)
    const id = await startAsksApproval(ownerBrowser, member.id)
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ organizationId: org.id, actorId: owner.id })
  })
})

describe("the user's answer", () => {
  it("approve: the admin's start works, tied to the request and capped at the approval's end", async () => {
    const { admin, user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id, { hours: 2 })

    const listed = await requestsOf(userBrowser)
    expect(listed.pending).toHaveLength(1)
    expect(listed.pending[0]).toMatchObject({
      id,
      admin: { name: admin.name, email: admin.email },
      reason: "Ticket 81: the export is empty",
      ticketUrl: "https://tickets.example.com/81",
      mode: "READ_ONLY",
      hours: 2,
      status: "pending",
    })

    const before = Date.now()
    const approved = await decide(userBrowser, { id, decision: "APPROVE", hours: 2, mode: "READ_ONLY" })
    expect(approved.error).toBeNull()
    expect(approved.result).toMatchObject({ status: "approved" })
    const row = await db.accessRequest.findUniqueOrThrow({ where: { id } })
    expect(row).toMatchObject({ status: "APPROVED", approvedMode: "READ_ONLY", approvedHours: 2 })
    expect(row.expiresAt!.getTime() - row.decidedAt!.getTime()).toBe(2 * 60 * 60_000)
    expect(row.decidedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000)
    expect((await requestsOf(userBrowser)).approved.map((r) => r.id)).toEqual([id])

    // Answering again changes nothing.
    expect((await decide(userBrowser, { id, decision: "DENY" })).error).toMatchObject({ code: "ACCESS_REQUEST_DECIDED" })

    // An approval ending before the time limit caps the impersonation.
    const soon = new Date(Date.now() + 5 * 60_000)
    await db.accessRequest.update({ where: { id }, data: { expiresAt: soon } })
    const res = await start(adminBrowser, user.id)
    expect(res.error).toBeNull()
    const impersonation = await db.impersonation.findUniqueOrThrow({ where: { id: res.result!.impersonationId } })
    expect(impersonation).toMatchObject({ accessRequestId: id, subjectId: user.id, actorId: admin.id })
    expect(impersonation.expiresAt.getTime()).toBe(soon.getTime())
    const me = await currentUser(adminBrowser)
    expect(me).toMatchObject({ id: user.id, impersonator: { id: admin.id } })
    expect(new Date(me!.approvedUntil!).getTime()).toBe(soon.getTime())
    const started = await db.auditEvent.findFirstOrThrow({ where: { impersonationId: impersonation.id, action: "IMPERSONATION_STARTED" } })
    expect(started.details).toMatchObject({ accessRequestId: id, approvedUntil: soon.toISOString() })

    const events = await eventsOfRequest(id)
    expect(actionsOf(events)).toEqual(["ACCESS_REQUESTED", "ACCESS_APPROVED"])
    expect(events[1]).toMatchObject({ actorId: admin.id, subjectId: user.id })
    expect(events[1]!.details).toMatchObject({ decidedById: user.id, approvedMode: "READ_ONLY", approvedHours: 2 })
  })

  it("after the approval's end a start asks again (a new request)", async () => {
    const { user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    expect((await decide(userBrowser, { id, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })).error).toBeNull()
    await db.accessRequest.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } })
    const again = await startAsksApproval(adminBrowser, user.id)
    expect(again).not.toBe(id)
    expect(await db.impersonation.count({ where: { subjectId: user.id } })).toBe(0)
    expect((await requestsOf(userBrowser)).recent.find((r) => r.id === id)?.status).toBe("expired")
    expect(await db.outboxMessage.count({ where: { to: user.email } })).toBe(2)
  })

  it("deny: starts are refused ACCESS_DENIED, with when to ask again", async () => {
    const { user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    const denied = await decide(userBrowser, { id, decision: "DENY" })
    expect(denied.error).toBeNull()
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "DENIED", approvedMode: null, expiresAt: null })
    const res = await start(adminBrowser, user.id)
    expect(res.error).toMatchObject({ code: "ACCESS_DENIED" })
    expect((res.error as RpcError).meta?.retryAfter).toEqual(expect.any(String))
    expect(await db.accessRequest.count({ where: { subjectId: user.id } })).toBe(1)
    expect(actionsOf(await eventsOfRequest(id))).toEqual(["ACCESS_REQUESTED", "ACCESS_DENIED"])
    expect((await requestsOf(userBrowser)).recent.map((r) => [r.id, r.status])).toEqual([[id, "denied"]])
  })

  it("approving read-write is refused when only read-only was asked; read-write asked may be narrowed", async () => {
    const { user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    const wider = await decide(userBrowser, { id, decision: "APPROVE", hours: 1, mode: "READ_WRITE" })
    expect(wider.error).toMatchObject({ code: "MODE_NOT_ASKED" })
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "PENDING" })

    const other = await supportAndAskUser()
    const rw = await startAsksApproval(other.adminBrowser, other.user.id, { mode: "READ_WRITE", password: PASSWORD })
    expect((await db.accessRequest.findUniqueOrThrow({ where: { id: rw } })).mode).toBe("READ_WRITE")
    expect((await decide(other.userBrowser, { id: rw, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })).error).toBeNull()
    // Read-write under a read-only approval: refused, nothing started.
    const res = await start(other.adminBrowser, other.user.id, { mode: "READ_WRITE", password: "whatever-it-is" })
    expect(res.error).toMatchObject({ code: "MODE_NOT_APPROVED" })
    expect(await db.impersonation.count({ where: { subjectId: other.user.id } })).toBe(0)
    // Read-only works.
    expect((await start(other.adminBrowser, other.user.id)).error).toBeNull()
  })

  it("a read-write request needs the admin's own password, as a read-write start does: without it nothing is asked", async () => {
    const { user, adminBrowser } = await supportAndAskUser()
    for (const password of [undefined, "not-the-password-1"]) {
      const res = await start(adminBrowser, user.id, { mode: "READ_WRITE", ...(password ? { password } : {}) })
      expect(res.error).toMatchObject({ code: "STEP_UP_REQUIRED" })
    }
    expect(await db.accessRequest.count({ where: { subjectId: user.id } })).toBe(0)
    expect(await db.outboxMessage.count({ where: { to: user.email } })).toBe(0)
    const refusals = await db.auditEvent.findMany({ where: { subjectId: user.id, action: "IMPERSONATION_REFUSED" }, orderBy: { id: "asc" } })
    expect(refusals.map((e) => [(e.details as { code: string }).code, (e.details as { stepUp: string }).stepUp])).toEqual([
      ["STEP_UP_REQUIRED", "MISSING"],
      ["STEP_UP_REQUIRED", "WRONG"],
    ])
    // With it, the request is made (read-write, as asked).
    const id = await startAsksApproval(adminBrowser, user.id, { mode: "READ_WRITE", password: PASSWORD })
    expect((await db.accessRequest.findUniqueOrThrow({ where: { id } })).mode).toBe("READ_WRITE")
  })

  it("refuses hours outside 1..24 and other fields", async () => {
    const { user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    for (const input of [
      { id, decision: "APPROVE", hours: 0, mode: "READ_ONLY" },
      { id, decision: "APPROVE", hours: 25, mode: "READ_ONLY" },
      { id, decision: "APPROVE", hours: 2.5, mode: "READ_ONLY" },
      { id, decision: "MAYBE" },
      { id, decision: "APPROVE", hours: 1, mode: "READ_ONLY", subjectId: 1 },
    ]) {
      expect((await decide(userBrowser, input)).error?.name).toBe("InputValidationError")
    }
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "PENDING" })
    expect(actionsOf(await eventsOfRequest(id))).toEqual(["ACCESS_REQUESTED"])
  })

  it("another user cannot see or answer the request: the same answer as an unknown id, nothing changed", async () => {
    const { user, adminBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    const stranger = await createUser({ label: "stranger", impersonationConsent: "ASK" })
    const strangerBrowser = await signIn(stranger)
    expect(await requestsOf(strangerBrowser)).toEqual({ pending: [], approved: [], recent: [], canAnswer: true })
    const theirs = await decide(strangerBrowser, { id, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })
    const unknown = await decide(strangerBrowser, { id: 2_000_000_000, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })
    expect(theirs.error).toMatchObject({ code: "ACCESS_REQUEST_NOT_FOUND" })
    expect(unknown.error).toEqual(theirs.error)
    // The admin who asked cannot answer it either.
    expect((await decide(adminBrowser, { id, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })).error).toEqual(theirs.error)
    const revoke = await strangerBrowser.rpc("revokeAccessGrant", { id })
    expect(revoke.error).toMatchObject({ code: "ACCESS_GRANT_NOT_FOUND" })
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "PENDING", decidedAt: null })
    expect(actionsOf(await eventsOfRequest(id))).toEqual(["ACCESS_REQUESTED"])
  })
})

describe("revocation", () => {
  it("ends a live impersonation under it (ENDED_BY_USER) and refuses later starts ACCESS_REVOKED", async () => {
    const { admin, user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    expect((await decide(userBrowser, { id, decision: "APPROVE", hours: 4, mode: "READ_ONLY" })).error).toBeNull()
    const res = await start(adminBrowser, user.id)
    expect(res.error).toBeNull()
    const impersonationId = res.result!.impersonationId

    const revoked = await userBrowser.rpc<{ status: string; endedImpersonations: number }>("revokeAccessGrant", { id })
    expect(revoked.error).toBeNull()
    expect(revoked.result).toMatchObject({ status: "revoked", endedImpersonations: 1 })
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "REVOKED" })
    const ended = await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })
    expect(ended).toMatchObject({ endReason: "ENDED_BY_USER", endedById: user.id })

    // The admin's next request is their own again.
    expect(await currentUser(adminBrowser)).toMatchObject({ id: admin.id, impersonator: null })
    expect(await db.auditEvent.count({ where: { impersonationId, action: "IMPERSONATION_ENDED" } })).toBe(1)

    const again = await start(adminBrowser, user.id)
    expect(again.error).toMatchObject({ code: "ACCESS_REVOKED" })
    expect(await db.accessRequest.count({ where: { subjectId: user.id } })).toBe(1)
    // Revoking twice changes nothing.
    expect((await userBrowser.rpc("revokeAccessGrant", { id })).error).toMatchObject({ code: "ACCESS_GRANT_NOT_IN_FORCE" })

    const events = await eventsOfRequest(id)
    expect(actionsOf(events)).toEqual(["ACCESS_REQUESTED", "ACCESS_APPROVED", "ACCESS_REVOKED"])
    expect(events[2]!.details).toMatchObject({ revokedById: user.id, endedImpersonationIds: [impersonationId] })
  })

  it("an impersonation the revocation did not end is ended by the guard at its next request", async () => {
    const { admin, user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    expect((await decide(userBrowser, { id, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })).error).toBeNull()
    const res = await start(adminBrowser, user.id)
    const impersonationId = res.result!.impersonationId
    // As if revoked by a path that does not end impersonations itself.
    await db.accessRequest.update({ where: { id }, data: { status: "REVOKED", revokedAt: new Date() } })
    expect(await currentUser(adminBrowser)).toMatchObject({ id: admin.id, impersonator: null })
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).toMatchObject({ endReason: "ENDED_BY_USER" })
  })

  it("while impersonating the user, the admin cannot read, answer or revoke their requests", async () => {
    const { admin, user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    expect((await decide(userBrowser, { id, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })).error).toBeNull()
    // A second admin's request waits for the same user.
    const other = await createUser({ label: "support-2", role: "SUPPORT" })
    const otherBrowser = await signIn(other)
    const waiting = await startAsksApproval(otherBrowser, user.id)

    expect((await start(adminBrowser, user.id)).error).toBeNull()
    expect(await currentUser(adminBrowser)).toMatchObject({ id: user.id, impersonator: { id: admin.id } })
    // The requests name other staff, their reasons and tickets: never shown to the admin acting as the user.
    const read = await adminBrowser.rpc("getAccessRequests", {})
    expect(read.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION" })
    expect(JSON.stringify(read)).not.toContain(other.email)
    expect((await requestsOf(userBrowser)).pending.map((r) => r.id)).toEqual([waiting])
    for (const [name, input] of [
      ["decideAccessRequest", { id: waiting, decision: "APPROVE", hours: 24, mode: "READ_ONLY" }],
      ["decideAccessRequest", { id: waiting, decision: "DENY" }],
      ["revokeAccessGrant", { id }],
    ] as const) {
      const res = await adminBrowser.rpc(name, input)
      expect(res.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION" })
    }
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id: waiting } })).toMatchObject({ status: "PENDING", decidedAt: null })
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "APPROVED", revokedAt: null })
    expect(actionsOf(await eventsOfRequest(waiting))).toEqual(["ACCESS_REQUESTED"])
  })
})

describe("expiry of unanswered requests", () => {
  it("is computed at once, audited once by expireAccessRequests, and a new start asks again", async () => {
    const { user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    const past = new Date(Date.now() - 1000)
    await db.accessRequest.update({ where: { id }, data: { requestExpiresAt: past } })

    const listed = await requestsOf(userBrowser)
    expect(listed.pending).toEqual([])
    expect(listed.recent.map((r) => [r.id, r.status])).toEqual([[id, "expired"]])
    const late = await decide(userBrowser, { id, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })
    expect(late.error).toMatchObject({ code: "ACCESS_REQUEST_EXPIRED" })

    expect(await expireAccessRequests(new Date())).toBeGreaterThanOrEqual(1)
    await expireAccessRequests(new Date())
    expect(actionsOf(await eventsOfRequest(id))).toEqual(["ACCESS_REQUESTED", "ACCESS_REQUEST_EXPIRED"])
    const expired = (await eventsOfRequest(id))[1]!
    expect(expired.details).toMatchObject({ expiredAt: past.toISOString() })
    expect((await db.accessRequest.findUniqueOrThrow({ where: { id } })).expiryRecordedAt).toBeInstanceOf(Date)

    const again = await startAsksApproval(adminBrowser, user.id)
    expect(again).not.toBe(id)
    expect(actionsOf(await eventsOfRequest(again))).toEqual(["ACCESS_REQUESTED"])
  })

  it("is swept by the outbox worker's pass, with its webhook row written in the same transaction", async () => {
    const { user, adminBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    await db.accessRequest.update({ where: { id }, data: { requestExpiresAt: new Date(Date.now() - 1000) } })
    const endpoint = await db.webhookEndpoint.create({
      data: { url: "http://127.0.0.1:9/never-called", secret: "whsec_test_0123456789abcdef" },
    })
    try {
      // A pass later than any other test file's: the worker's housekeeping runs at most once a minute per process.
      await runOutboxPass({ now: new Date(Date.now() + 3_600_000), limit: 0 })
      const events = await eventsOfRequest(id)
      expect(actionsOf(events)).toEqual(["ACCESS_REQUESTED", "ACCESS_REQUEST_EXPIRED"])
      const hooks = await db.outboxMessage.findMany({ where: { endpointId: endpoint.id, subject: "access_request.expired" } })
      expect(hooks.map((h) => JSON.parse(h.text).data.auditEventId)).toEqual([events[1]!.id])
    } finally {
      await db.webhookEndpoint.update({ where: { id: endpoint.id }, data: { enabled: false, deletedAt: new Date() } })
    }
  })

  it("a new start records the expiry of the old request itself when the sweep has not run", async () => {
    const { user, adminBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    await db.accessRequest.update({ where: { id }, data: { requestExpiresAt: new Date(Date.now() - 1000) } })
    const again = await startAsksApproval(adminBrowser, user.id)
    expect(again).not.toBe(id)
    expect(actionsOf(await eventsOfRequest(id))).toEqual(["ACCESS_REQUESTED", "ACCESS_REQUEST_EXPIRED"])
    await expireAccessRequests(new Date())
    expect(actionsOf(await eventsOfRequest(id))).toEqual(["ACCESS_REQUESTED", "ACCESS_REQUEST_EXPIRED"])
  })
})

describe("actor tokens for a user who approves each access", () => {
  it("creation asks the user (RPC and JSON API, one request); after approval a token works", async () => {
    const { admin, user, adminBrowser, userBrowser } = await supportAndAskUser()
    const created = await adminBrowser.rpc("createActorToken", { userId: user.id, reason: "Ticket 82", hours: 5 }, { headers: { host: "localhost:3999" } })
    const error = created.error as RpcError
    expect(error).toMatchObject({ code: "APPROVAL_REQUIRED" })
    const id = error.meta!.accessRequestId!
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ hours: 5, reason: "Ticket 82", status: "PENDING" })
    expect(await db.actorToken.count({ where: { subjectId: user.id } })).toBe(0)
    expect((await eventsOfRequest(id))[0]!.details).toMatchObject({ via: "ACTOR_TOKEN" })

    const api = await callApi(adminBrowser, "POST", "/api/actor-tokens", { json: { userId: user.id, reason: "Ticket 82" } })
    expect(api.status).toBe(403)
    expect(api.body.error).toMatchObject({ code: "APPROVAL_REQUIRED", meta: { accessRequestId: id } })
    expect(await db.accessRequest.count({ where: { subjectId: user.id } })).toBe(1)
    expect(await db.outboxMessage.count({ where: { to: user.email } })).toBe(1)

    const badHours = await callApi(adminBrowser, "POST", "/api/actor-tokens", { json: { userId: user.id, reason: "Ticket 82", hours: 30 } })
    expect(badHours.status).toBe(400)

    expect((await decide(userBrowser, { id, decision: "APPROVE", hours: 1, mode: "READ_ONLY" })).error).toBeNull()
    const token = await callApi<{ token: string }>(adminBrowser, "POST", "/api/actor-tokens", { json: { userId: user.id, reason: "Ticket 82" } })
    expect(token.status).toBe(201)
    const redeemer = new TestBrowser()
    const redeemed = await redeemer.rpc<{ impersonationId: number }>("redeemActorToken", { token: token.body.token })
    expect(redeemed.error).toBeNull()
    expect(await currentUser(redeemer)).toMatchObject({ id: user.id, impersonator: { id: admin.id } })
    expect(await db.impersonation.findFirstOrThrow({ where: { subjectId: user.id } })).toMatchObject({ accessRequestId: id })
  })
})

describe("the admin's view of their own request", () => {
  it("getAccessApproval shows the admin's own latest request for the user, nobody else's", async () => {
    const { user, adminBrowser, userBrowser } = await supportAndAskUser()
    expect((await adminBrowser.rpc("getAccessApproval", { userId: user.id })).result).toBeNull()
    const id = await startAsksApproval(adminBrowser, user.id)
    expect((await adminBrowser.rpc("getAccessApproval", { userId: user.id })).result).toMatchObject({ accessRequestId: id, status: "pending", until: null })
    const approved = await decide(userBrowser, { id, decision: "APPROVE", hours: 3, mode: "READ_ONLY" })
    const view = await adminBrowser.rpc<{ status: string; until: Date }>("getAccessApproval", { userId: user.id })
    expect(view.result).toMatchObject({ status: "approved", until: approved.result!.expiresAt })
    const other = await signIn(await createUser({ label: "support-3", role: "SUPPORT" }))
    expect((await other.rpc("getAccessApproval", { userId: user.id })).result).toBeNull()
  })
})

describe("the console's rows", () => {
  it("show a user who approves each access as eligible with the hint, and read the organization's floor", async () => {
    const { searchDirectory } = await import("app/admin/directory")
    const { loadOrganizationPage } = await import("app/organizations/members")
    const { toPolicyUser, userForPolicy } = await import("app/impersonation/guard")
    const tag = `floor-${Date.now()}-${Math.random().toString(36).slice(2)}`
    const askOrg = await db.organization.create({ data: { name: `${tag}-ask`, consentFloor: "ASK" } })
    const neverOrg = await db.organization.create({ data: { name: `${tag}-never`, consentFloor: "NEVER" } })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const asks = await createUser({ label: `${tag}-own-ask`, impersonationConsent: "ASK" })
    const byFloor = await createUser({ label: `${tag}-floor-ask`, organization: { id: askOrg.id, role: "MEMBER" } })
    const forbidden = await createUser({ label: `${tag}-floor-never`, organization: { id: neverOrg.id, role: "MEMBER" } })
    const plain = await createUser({ label: `${tag}-plain` })
    const viewer = toPolicyUser(await db.user.findUniqueOrThrow({ where: { id: support.id }, ...userForPolicy }))
    const page = await searchDirectory({ viewer, term: tag })
    const byId = new Map(page.rows.map((row) => [row.id, row.eligibility]))
    const approval = { allowed: true, approvalRequired: true, hint: "Approval required" }
    expect(byId.get(asks.id)).toEqual(approval)
    expect(byId.get(byFloor.id)).toEqual(approval)
    expect(byId.get(forbidden.id)).toMatchObject({ allowed: false, code: "ORGANIZATION_FORBIDS" })
    expect(byId.get(plain.id)).toEqual({ allowed: true })

    const owner = await createUser({ label: "owner", organization: { id: askOrg.id, role: "OWNER" } })
    const members = await loadOrganizationPage({ viewerId: owner.id, impersonating: false, organizationId: askOrg.id })
    expect(members!.members.find((m) => m.userId === byFloor.id)!.eligibility).toEqual(approval)
  })
})

describe("Never takes back the approvals in force (review of issue 8, F4)", () => {
  it("the user's Never revokes them: relaxing to Ask later does not bring them back", async () => {
    const { admin, user, adminBrowser, userBrowser } = await supportAndAskUser()
    const id = await startAsksApproval(adminBrowser, user.id)
    expect((await decide(userBrowser, { id, decision: "APPROVE", hours: 4, mode: "READ_ONLY" })).error).toBeNull()
    expect((await start(adminBrowser, user.id)).error).toBeNull()

    expect((await userBrowser.rpc("setImpersonationConsent", { consent: "NEVER" })).error).toBeNull()
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "REVOKED" })
    const revoked = (await eventsOfRequest(id)).filter((e) => e.action === "ACCESS_REVOKED")
    expect(revoked.map((e) => e.details)).toEqual([expect.objectContaining({ cause: "CONSENT_NEVER", revokedById: user.id })])
    // The live impersonation ends at the admin's next request, as the target's rights ended it.
    expect(await currentUser(adminBrowser)).toMatchObject({ id: admin.id, impersonator: null })
    expect(await db.impersonation.findFirstOrThrow({ where: { subjectId: user.id } })).toMatchObject({ endReason: "TARGET_REVOKED" })

    expect((await userBrowser.rpc("setImpersonationConsent", { consent: "ASK" })).error).toBeNull()
    const again = await start(adminBrowser, user.id)
    expect(again.error).toMatchObject({ code: "ACCESS_REVOKED" })
    expect(await db.impersonation.count({ where: { subjectId: user.id } })).toBe(1)
  })

  it("an organization's Never floor revokes its members' approvals, and only theirs", async () => {
    const org = await db.organization.create({ data: { name: `floor-never-${Date.now()}-${Math.random()}` } })
    const owner = await createUser({ label: "owner", organization: { id: org.id, role: "OWNER" } })
    const member = await createUser({ label: "member", impersonationConsent: "ASK", organization: { id: org.id, role: "MEMBER" } })
    const outsider = await supportAndAskUser()
    const admin = await createUser({ label: "support", role: "SUPPORT" })
    const adminBrowser = await signIn(admin)
    const memberBrowser = await signIn(member)
    const id = await startAsksApproval(adminBrowser, member.id)
    expect((await decide(memberBrowser, { id, decision: "APPROVE", hours: 4, mode: "READ_ONLY" })).error).toBeNull()
    const outsiderId = await startAsksApproval(outsider.adminBrowser, outsider.user.id)
    expect((await decide(outsider.userBrowser, { id: outsiderId, decision: "APPROVE", hours: 4, mode: "READ_ONLY" })).error).toBeNull()

    const ownerBrowser = await signIn(owner)
    expect((await ownerBrowser.rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: "NEVER" })).error).toBeNull()
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "REVOKED" })
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id: outsiderId } })).toMatchObject({ status: "APPROVED" })
    const revoked = (await eventsOfRequest(id)).filter((e) => e.action === "ACCESS_REVOKED")
    expect(revoked.map((e) => e.details)).toEqual([expect.objectContaining({ cause: "ORGANIZATION_FLOOR_NEVER", revokedById: owner.id })])

    expect((await ownerBrowser.rpc("setOrganizationConsentFloor", { organizationId: org.id, floor: "ASK" })).error).toBeNull()
    expect((await start(adminBrowser, member.id)).error).toMatchObject({ code: "ACCESS_REVOKED" })
    expect(await db.impersonation.count({ where: { subjectId: member.id } })).toBe(0)
  })
})

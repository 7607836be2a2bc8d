import crypto from "node:crypto"
import { Validator } from "@seriousme/openapi-schema-validator"
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import db from "db"
import { PEER_ADDRESS_HEADER, peerAddressHeaderValue } from "app/core/clientAddress"
import { log } from "app/core/log"
import { serverConfig } from "app/core/serverConfig"
import { API_ORIGIN, OPENAPI_DOCUMENT, ROUTE_MODULES, callApi, type ApiResponse } from "test/helpers/actorTokenApi"
import { COOKIE, TestBrowser } from "test/helpers/browser"
import { createOrganization, createUser, decodePublicDataCookie, rowCounts } from "test/helpers/fixtures"
import { signIn, currentUser, stop } from "test/helpers/session"

type Person = { id: number; email: string }
type Created = { id: number; token: string; url: string; expiresAt: string }
type Redeemed = {
  impersonationId: number
  expiresAt: string
  handBackToActor: boolean
  user: { id: number; email: string; name: string }
  actor: { id: number; email: string; name: string }
}
type Listed = { tokens: Array<{ id: number; status: string; user: { id: number }; impersonationId: number | null }> }

const settings = serverConfig.impersonation
const defaults = { ...settings }

// Opening (and migrating) the database is slow on PGlite: do it in a hook, not in the first test.
beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

afterEach(() => {
  Object.assign(settings, defaults)
})

async function createToken(browser: TestBrowser, target: Person, reason = "Ticket 77: invoices missing") {
  const res = await callApi<Created>(browser, "POST", "/api/actor-tokens", { json: { userId: target.id, reason } })
  expect(res.body.error).toBeUndefined()
  expect(res.status).toBe(201)
  return res.body
}

function redeem(browser: TestBrowser, token: string) {
  return callApi<Redeemed>(browser, "POST", "/api/actor-tokens/redeem", { json: { token } })
}

function revoke(browser: TestBrowser, id: number | string) {
  return callApi<{ id: number; status: string; revokedAt: string }>(browser, "POST", `/api/actor-tokens/${id}/revoke`)
}

function expectRefused(res: ApiResponse, status: number, code: string, message?: string | RegExp) {
  expect({ status: res.status, code: res.body.error?.code }).toEqual({ status, code })
  if (typeof message === "string") expect(res.body.error?.message).toBe(message)
  else if (message) expect(res.body.error?.message).toMatch(message)
}

function tokenRow(id: number) {
  return db.actorToken.findUniqueOrThrow({ where: { id } })
}

function lastRefusal(actorTokenId: number) {
  return db.auditEvent.findFirst({
    where: { action: "ACTOR_TOKEN_REFUSED", details: { path: ["requested", "actorTokenId"], equals: actorTokenId } },
    orderBy: { id: "desc" },
  })
}

/** A redemption refusal changes nothing but the one audit row that records it. */
async function expectOnlyAuditedRefusal(before: Awaited<ReturnType<typeof rowCounts>>) {
  expect(await rowCounts()).toEqual({ ...before, auditEvents: before.auditEvents + 1 })
}

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator()
    const result = await validator.validate(structuredClone(OPENAPI_DOCUMENT) as unknown as Record<string, unknown>)
    expect(result.errors).toBeUndefined()
    expect(result.valid).toBe(true)
    expect(validator.version).toBe("3.1")
  })

  it("describes exactly the routes and methods the app serves", () => {
    const served = Object.entries(ROUTE_MODULES).flatMap(([path, module]) =>
      Object.keys(module).filter((name) => /^(GET|POST|PUT|PATCH|DELETE)$/.test(name)).map((m) => `${m} ${path}`),
    )
    const documented = Object.entries(OPENAPI_DOCUMENT.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    )
    expect(served.sort()).toEqual(documented.sort())
  })
})

describe("creating a token", () => {
  it("returns the token once, stores only its SHA-256, expires it after the TTL and audits it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const before = Date.now()
    const res = await callApi<Created>(browser, "POST", "/api/actor-tokens", {
      json: { email: target.email.toUpperCase(), reason: "Ticket 12", ticketUrl: "https://tickets.example/12" },
      headers: { [PEER_ADDRESS_HEADER]: peerAddressHeaderValue("198.51.100.23") },
    })
    expect(res.status).toBe(201)
    expect(res.raw.headers.get("cache-control")).toBe("no-store")
    const { id, token, url, expiresAt } = res.body
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(token, "base64url")).toHaveLength(32)
    expect(url).toBe(`${API_ORIGIN}/impersonate?ticket=${token}`)

    const row = await tokenRow(id)
    expect(row).toMatchObject({
      actorId: support.id,
      subjectId: target.id,
      reason: "Ticket 12",
      ticketUrl: "https://tickets.example/12",
      status: "PENDING",
      usedAt: null,
      revokedAt: null,
    })
    expect(row.tokenHash).toBe(crypto.createHash("sha256").update(token).digest("hex"))
    expect(JSON.stringify(row)).not.toContain(token)
    expect(row.expiresAt.toISOString()).toBe(expiresAt)
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(300_000)
    expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000)

    const audit = await db.auditEvent.findMany({ where: { action: "ACTOR_TOKEN_CREATED", actorId: support.id } })
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ subjectId: target.id, ip: "198.51.100.23", userAgent: "vitest-browser" })
    expect(audit[0]!.details).toMatchObject({ actorTokenId: id, reason: "Ticket 12", ticketUrl: "https://tickets.example/12" })
    expect(JSON.stringify(audit[0])).not.toContain(token)
    // Creating starts nothing: the admin is still themself, with no impersonation.
    expect((await currentUser(browser))?.id).toBe(support.id)
    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(0)
  })

  it("takes the time to live from ACTOR_TOKEN_TTL_SECONDS", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    settings.actorTokenTtlSeconds = 42
    const created = await createToken(await signIn(support), target)
    const row = await tokenRow(created.id)
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(42_000)
  })

  it("asks the same policy as a start, and audits a refusal with its code", async () => {
    const org = await createOrganization()
    const admin = await createUser({ label: "org-admin", organization: { id: org.id, role: "ADMIN" } })
    const outsider = await createUser({ label: "outsider" })
    const optedOut = await createUser({ label: "optout", impersonationConsent: "NEVER" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const plain = await createUser({ label: "plain" })
    const cases: Array<[Person, Person, string]> = [
      [admin, outsider, "NOT_SAME_ORG"],
      [support, optedOut, "TARGET_OPTED_OUT"],
      [support, support, "SELF"],
      [plain, outsider, "NO_PERMISSION"],
    ]
    for (const [actor, target, code] of cases) {
      const browser = await signIn(actor)
      const before = await rowCounts()
      const res = await callApi(browser, "POST", "/api/actor-tokens", { json: { userId: target.id, reason: "policy" } })
      expectRefused(res, 403, code)
      expect(await rowCounts()).toEqual({ ...before, auditEvents: before.auditEvents + 1 })
      const refusal = await db.auditEvent.findFirst({ where: { actorId: actor.id }, orderBy: { id: "desc" } })
      expect(refusal).toMatchObject({ action: "ACTOR_TOKEN_REFUSED" })
      expect(refusal?.details).toMatchObject({ code, stage: "CREATE", reason: "policy" })
    }
  })

  it("is refused to a session that is itself an impersonation", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const other = await createUser({ label: "other" })
    const browser = await signIn(support)
    expect((await browser.rpc("impersonateUser", { userId: target.id, reason: "first" })).error).toBeNull()
    const res = await callApi(browser, "POST", "/api/actor-tokens", { json: { userId: other.id, reason: "nested" } })
    expectRefused(res, 403, "ALREADY_IMPERSONATING")
    expect(await db.actorToken.count({ where: { actorId: support.id } })).toBe(0)
    expectRefused(await callApi(browser, "GET", "/api/actor-tokens"), 403, "ALREADY_IMPERSONATING")
  })
})

describe("redeeming a pending token", () => {
  it("in a browser with no session: starts once, sets the user's session cookies, and Stop signs out", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const created = await createToken(admin, target)

    const phone = new TestBrowser()
    const res = await redeem(phone, created.token)
    expect(res.status).toBe(200)
    expect(res.raw.headers.get("cache-control")).toBe("no-store")
    expect(res.body).toMatchObject({
      handBackToActor: false,
      user: { id: target.id, email: target.email, name: target.name },
      actor: { id: support.id, email: support.email },
    })
    // Cookies as the login RPC sets them: an HttpOnly session token, anti-CSRF and public data.
    const setCookies = res.raw.headers.getSetCookie()
    expect(setCookies.find((c) => c.startsWith(`${COOKIE.session}=`))).toMatch(/HttpOnly/i)
    expect(phone.cookies.get(COOKIE.antiCsrf)).toBeTruthy()
    const impersonation = await db.impersonation.findUniqueOrThrow({ where: { id: res.body.impersonationId } })
    expect(decodePublicDataCookie(phone.cookies.get(COOKIE.publicData))).toEqual({
      userId: target.id,
      role: "USER",
      impersonatingFromUserId: support.id,
      impersonationId: impersonation.id,
      impersonationExpiresAt: impersonation.expiresAt.toISOString(),
    })
    expect(impersonation).toMatchObject({
      actorId: support.id,
      subjectId: target.id,
      reason: "Ticket 77: invoices missing",
      handBackToActor: false,
      actorTokenId: created.id,
      endedAt: null,
    })
    expect(res.body.expiresAt).toBe(impersonation.expiresAt.toISOString())
    expect(await currentUser(phone)).toMatchObject({ id: target.id, impersonator: { id: support.id } })
    expect(await tokenRow(created.id)).toMatchObject({ status: "USED" })
    const actions = await db.auditEvent.findMany({
      where: { actorId: support.id, action: { in: ["ACTOR_TOKEN_REDEEMED", "IMPERSONATION_STARTED"] } },
      orderBy: { id: "asc" },
    })
    expect(actions.map((e) => e.action)).toEqual(["ACTOR_TOKEN_REDEEMED", "IMPERSONATION_STARTED"])
    expect(actions[0]!.details).toMatchObject({ actorTokenId: created.id, handBackToActor: false })
    // The admin's own browser was never touched.
    expect((await currentUser(admin))?.id).toBe(support.id)

    // Used: a second redemption, anywhere, is refused and changes nothing.
    const before = await rowCounts()
    expectRefused(await redeem(new TestBrowser(), created.token), 410, "USED", /already been used/)
    await expectOnlyAuditedRefusal(before)
    expect(await lastRefusal(created.id)).toMatchObject({ actorId: support.id, subjectId: target.id })

    // Stop signs this browser out: a ticket never becomes an admin session on another device.
    expect(await stop(phone)).toMatchObject({ status: "SIGNED_OUT" })
    expect(await currentUser(phone)).toBeNull()
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonation.id } })).toMatchObject({
      endReason: "STOPPED",
    })
    expect((await currentUser(admin))?.id).toBe(support.id)
  })

  it("in the admin's own browser: consumes that session, and Stop returns to the admin", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const oldHandle = (await admin.pageSession()).$handle!
    const created = await createToken(admin, target)

    const res = await redeem(admin, created.token)
    expect(res.status).toBe(200)
    expect(res.body.handBackToActor).toBe(true)
    expect(await db.session.findUnique({ where: { handle: oldHandle } })).toBeNull()
    expect(await currentUser(admin)).toMatchObject({ id: target.id, impersonator: { id: support.id } })
    expect(await stop(admin)).toEqual({ status: "RESTORED", userId: support.id })
    expect((await currentUser(admin))?.id).toBe(support.id)
  })

  it("after a no-session redemption, the time limit signs the browser out instead of handing it to the admin", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const created = await createToken(await signIn(support), target)
    const phone = new TestBrowser()
    const { body } = await redeem(phone, created.token)
    await db.impersonation.update({ where: { id: body.impersonationId }, data: { expiresAt: new Date(Date.now() - 1000) } })
    expect(await currentUser(phone)).toBeNull()
    expect((await phone.pageSession()).userId).toBeNull()
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: body.impersonationId } })).toMatchObject({
      endReason: "EXPIRED",
    })
  })

  it("of two concurrent redemptions of one token, exactly one starts an impersonation", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const created = await createToken(await signIn(support), target)
    const results = await Promise.all([redeem(new TestBrowser(), created.token), redeem(new TestBrowser(), created.token)])
    expect(results.map((r) => r.status).sort()).toEqual([200, 410])
    expect(results.find((r) => r.status === 410)?.body.error?.code).toBe("USED")
    expect(await db.impersonation.count({ where: { actorTokenId: created.id } })).toBe(1)
    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(1)
    expect(await db.auditEvent.count({ where: { action: "ACTOR_TOKEN_REDEEMED", actorId: support.id } })).toBe(1)
  })
})

describe("tokens that cannot be redeemed change nothing", () => {
  it("expired: refused with 410, the token stays as it was", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const created = await createToken(await signIn(support), target)
    await db.actorToken.update({ where: { id: created.id }, data: { expiresAt: new Date(Date.now() - 1) } })
    const phone = new TestBrowser()
    const before = await rowCounts()
    expectRefused(await redeem(phone, created.token), 410, "EXPIRED", /expired/)
    await expectOnlyAuditedRefusal(before)
    expect(await tokenRow(created.id)).toMatchObject({ status: "PENDING", usedAt: null })
    expect(await lastRefusal(created.id)).toMatchObject({ details: { code: "EXPIRED", stage: "REDEEM" } })
    expect(phone.cookies.get(COOKIE.session)).toBeUndefined()
  })

  it("revoked: revocable by its admin and by a SUPERADMIN only, then refused with 410", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const otherSupport = await createUser({ label: "support-2", role: "SUPPORT" })
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const mine = await createToken(admin, target)
    const forSuperadmin = await createToken(admin, target)

    // Another admin learns nothing about it: the same 404 as for an id that does not exist.
    const other = await signIn(otherSupport)
    expectRefused(await revoke(other, mine.id), 404, "TOKEN_NOT_FOUND")
    expectRefused(await revoke(other, 2_000_000_000), 404, "TOKEN_NOT_FOUND")
    expect(await tokenRow(mine.id)).toMatchObject({ status: "PENDING" })

    const res = await revoke(admin, mine.id)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: mine.id, status: "revoked" })
    expect(await tokenRow(mine.id)).toMatchObject({ status: "REVOKED", revokedById: support.id })
    const audit = await db.auditEvent.findFirst({ where: { action: "ACTOR_TOKEN_REVOKED", actorId: support.id } })
    expect(audit?.details).toMatchObject({ actorTokenId: mine.id, revokedById: support.id })
    expectRefused(await revoke(admin, mine.id), 409, "ALREADY_REVOKED")

    const sa = await signIn(superadmin)
    expect((await revoke(sa, forSuperadmin.id)).status).toBe(200)
    expect(await tokenRow(forSuperadmin.id)).toMatchObject({ status: "REVOKED", revokedById: superadmin.id })

    const before = await rowCounts()
    expectRefused(await redeem(new TestBrowser(), mine.token), 410, "REVOKED", /revoked/)
    await expectOnlyAuditedRefusal(before)
  })

  it("a used or expired token cannot be revoked", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const used = await createToken(admin, target)
    expect((await redeem(new TestBrowser(), used.token)).status).toBe(200)
    expectRefused(await revoke(admin, used.id), 409, "ALREADY_USED")
    const expired = await createToken(admin, target)
    await db.actorToken.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1) } })
    expectRefused(await revoke(admin, expired.id), 409, "EXPIRED")
    expect(await tokenRow(expired.id)).toMatchObject({ status: "PENDING", revokedAt: null })
  })

  it("unknown: 404, audited without any actor", async () => {
    const phone = new TestBrowser()
    const before = await rowCounts()
    const unknown = crypto.randomBytes(32).toString("base64url")
    expectRefused(await redeem(phone, unknown), 404, "UNKNOWN", /not valid/)
    await expectOnlyAuditedRefusal(before)
    const refusal = await db.auditEvent.findFirst({ where: { action: "ACTOR_TOKEN_REFUSED" }, orderBy: { id: "desc" } })
    expect(refusal).toMatchObject({ actorId: null, subjectId: null, details: { code: "UNKNOWN" } })
    expect(JSON.stringify(refusal)).not.toContain(unknown)
  })

  it("foreign admin: a browser signed in as someone else is refused and keeps its session", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const otherSupport = await createUser({ label: "support-2", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const created = await createToken(await signIn(support), target)
    for (const holder of [otherSupport, target]) {
      const browser = await signIn(holder)
      const handle = (await browser.pageSession()).$handle
      const before = await rowCounts()
      expectRefused(await redeem(browser, created.token), 403, "FOREIGN_ADMIN", "This link was created by another admin")
      await expectOnlyAuditedRefusal(before)
      expect((await browser.pageSession()).$handle).toBe(handle)
      expect(await currentUser(browser)).toMatchObject({ id: holder.id, impersonator: null })
      expect(await lastRefusal(created.id)).toMatchObject({
        actorId: support.id,
        details: { code: "FOREIGN_ADMIN", presentedByUserId: holder.id },
      })
    }
    expect(await tokenRow(created.id)).toMatchObject({ status: "PENDING" })
    // Nothing was consumed: the ticket still works where no one is signed in.
    expect((await redeem(new TestBrowser(), created.token)).status).toBe(200)
  })

  it("never nests: a browser whose session is an impersonation is refused, even the admin's", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const other = await createUser({ label: "other" })
    const admin = await signIn(support)
    const created = await createToken(admin, other)
    const started = await admin.rpc<{ impersonationId: number }>("impersonateUser", { userId: target.id, reason: "first" })
    expect(started.error).toBeNull()
    const before = await rowCounts()
    expectRefused(await redeem(admin, created.token), 403, "ALREADY_IMPERSONATING")
    await expectOnlyAuditedRefusal(before)
    expect(await currentUser(admin)).toMatchObject({ id: target.id, impersonator: { id: support.id } })
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: started.result!.impersonationId } })).toMatchObject({
      endedAt: null,
    })
  })

  it("the policy is asked again at redemption: a user disabled since is refused", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const created = await createToken(await signIn(support), target)
    await db.user.update({ where: { id: target.id }, data: { status: "DISABLED" } })
    const before = await rowCounts()
    expectRefused(await redeem(new TestBrowser(), created.token), 403, "TARGET_DISABLED")
    await expectOnlyAuditedRefusal(before)
    expect(await tokenRow(created.id)).toMatchObject({ status: "PENDING" })
  })

  it("the admin's sign-out everywhere revokes their unused tokens: a link opened later is refused", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const created = await createToken(admin, target)
    const other = await createToken(await signIn(await createUser({ label: "other", role: "SUPPORT" })), target)
    expect((await admin.rpc("signOutEverywhere", {})).error).toBeNull()
    expect(await tokenRow(created.id)).toMatchObject({ status: "REVOKED", revokedById: support.id })
    expectRefused(await redeem(new TestBrowser(), created.token), 410, "REVOKED")
    // Another admin's token is not theirs to revoke.
    expect(await tokenRow(other.id)).toMatchObject({ status: "PENDING" })
  })
})

describe("the off-switch and the quota", () => {
  it("off-switch: creation and redemption are refused, and live token impersonations end at their next request", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const pending = await createToken(admin, target)
    const live = await createToken(admin, target)
    const phone = new TestBrowser()
    const started = await redeem(phone, live.token)
    expect(started.status).toBe(200)

    settings.enabled = false
    let before = await rowCounts()
    const created = await callApi(admin, "POST", "/api/actor-tokens", { json: { userId: target.id, reason: "off" } })
    expectRefused(created, 403, "FEATURE_DISABLED", "Impersonation is turned off for this app right now")
    expect(await rowCounts()).toEqual({ ...before, auditEvents: before.auditEvents + 1 })

    before = await rowCounts()
    expectRefused(await redeem(new TestBrowser(), pending.token), 403, "FEATURE_DISABLED")
    await expectOnlyAuditedRefusal(before)
    expect(await tokenRow(pending.id)).toMatchObject({ status: "PENDING" })

    // The running impersonation is over at its next request; this browser is signed out.
    expect(await currentUser(phone)).toBeNull()
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: started.body.impersonationId } })).toMatchObject({
      endReason: "FEATURE_DISABLED",
    })

    settings.enabled = true
    expect((await redeem(new TestBrowser(), pending.token)).status).toBe(200)
  })

  it("quota: refuses creation at the quota, and a redemption that would exceed it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    settings.monthlyQuota = 1
    const first = await createToken(admin, target)
    const second = await createToken(admin, target)
    expect((await redeem(new TestBrowser(), first.token)).status).toBe(200)

    const before = await rowCounts()
    expectRefused(await redeem(new TestBrowser(), second.token), 403, "QUOTA", /monthly quota of 1 impersonation\b/)
    await expectOnlyAuditedRefusal(before)
    expect(await tokenRow(second.id)).toMatchObject({ status: "PENDING" })

    const refused = await callApi(admin, "POST", "/api/actor-tokens", { json: { userId: target.id, reason: "third" } })
    expectRefused(refused, 403, "QUOTA", /monthly quota of 1 impersonation\b/)
    expect(await db.actorToken.count({ where: { actorId: support.id } })).toBe(2)

    settings.monthlyQuota = 2
    expect((await redeem(new TestBrowser(), second.token)).status).toBe(200)
  })
})

describe("listing", () => {
  it("lists only the admin's own tokens, by status, never their values", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const otherSupport = await createUser({ label: "support-2", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const pending = await createToken(admin, target)
    const used = await createToken(admin, target)
    const expired = await createToken(admin, target)
    const revoked = await createToken(admin, target)
    const someoneElses = await createToken(await signIn(otherSupport), target)
    const started = await redeem(new TestBrowser(), used.token)
    await db.actorToken.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1) } })
    expect((await revoke(admin, revoked.id)).status).toBe(200)

    const ids = async (query: string) => {
      const res = await callApi<Listed>(admin, "GET", `/api/actor-tokens${query}`)
      expect(res.status).toBe(200)
      expect(JSON.stringify(res.body)).not.toMatch(new RegExp([pending, used, expired, revoked].map((t) => t.token).join("|")))
      return res.body.tokens.map((t) => t.id)
    }
    expect(await ids("?status=pending")).toEqual([pending.id])
    expect(await ids("?status=used")).toEqual([used.id])
    expect(await ids("?status=expired")).toEqual([expired.id])
    expect(await ids("?status=revoked")).toEqual([revoked.id])
    expect(await ids("")).toEqual([revoked.id, expired.id, used.id, pending.id])
    expect(await ids("")).not.toContain(someoneElses.id)
    const all = await callApi<Listed>(admin, "GET", "/api/actor-tokens?status=used")
    expect(all.body.tokens[0]).toMatchObject({ status: "used", user: { id: target.id }, impersonationId: started.body.impersonationId })

    const bad = await callApi(admin, "GET", "/api/actor-tokens?status=PENDING")
    expect(bad.status).toBe(400)
    expect(bad.body.error?.message).toMatch(/status must be one of/)
    expect((await callApi(new TestBrowser(), "GET", "/api/actor-tokens")).status).toBe(401)
  })
})

describe("authentication and bad input: a clear 4xx, nothing changed", () => {
  it("create and revoke need a session and the anti-CSRF header", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const created = await createToken(admin, target)
    const before = await rowCounts()
    const json = { userId: target.id, reason: "auth" }
    const noSession = await callApi(new TestBrowser(), "POST", "/api/actor-tokens", { json })
    expect(noSession.status).toBe(401)
    const noHeader = await callApi(admin, "POST", "/api/actor-tokens", { json, csrf: false })
    expect({ status: noHeader.status, name: noHeader.body.error?.name }).toEqual({ status: 403, name: "CSRFTokenMismatchError" })
    const wrongHeader = await callApi(admin, "POST", "/api/actor-tokens", { json, csrf: false, headers: { "anti-csrf": "forged" } })
    expect(wrongHeader.status).toBe(403)
    expect((await callApi(admin, "POST", `/api/actor-tokens/${created.id}/revoke`, { csrf: false })).status).toBe(403)
    expect((await revoke(new TestBrowser(), created.id)).status).toBe(401)
    // A cookie-holding caller of redeem sends the header too (no login CSRF through a session).
    expect((await callApi(admin, "POST", "/api/actor-tokens/redeem", { json: { token: created.token }, csrf: false })).status).toBe(403)
    expect(await rowCounts()).toEqual(before)
    expect(await tokenRow(created.id)).toMatchObject({ status: "PENDING" })
    const unreadable = new TestBrowser()
    unreadable.cookies.set(COOKIE.session, "garbage")
    const cleared = await callApi(unreadable, "POST", "/api/actor-tokens/redeem", { json: { token: created.token } })
    expect(cleared.status).toBe(401)
    expect(unreadable.cookies.get(COOKIE.session)).toBeUndefined()
    expect(await rowCounts()).toEqual(before)
  })

  it("refuses hostile or malformed bodies with 400, 413 or 415 and the schema's words", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const created = await createToken(admin, target)
    const create = (call: Parameters<typeof callApi>[3]) => callApi(admin, "POST", "/api/actor-tokens", call)
    const redeemRaw = (call: Parameters<typeof callApi>[3]) => callApi(new TestBrowser(), "POST", "/api/actor-tokens/redeem", call)
    const before = await rowCounts()
    const cases: Array<[string, () => Promise<ApiResponse>, number, RegExp]> = [
      ["not JSON", () => create({ raw: "{userId: 1" }), 400, /must be JSON/],
      ["form-encoded", () => create({ raw: "userId=1&reason=x", contentType: "application/x-www-form-urlencoded" }), 415, /application\/json/],
      ["text/plain", () => create({ raw: JSON.stringify({ userId: target.id, reason: "x" }), contentType: "text/plain" }), 415, /application\/json/],
      ["no content type", () => create({ raw: JSON.stringify({ userId: target.id, reason: "x" }), contentType: null }), 415, /application\/json/],
      ["too large", () => create({ json: { userId: target.id, reason: "x".repeat(70_000) } }), 413, /too large/],
      ["an array", () => create({ json: [1, 2] }), 400, /expected object/i],
      ["JSON null", () => create({ json: null }), 400, /expected object/i],
      ["NUL in the reason", () => create({ json: { userId: target.id, reason: "a\u0000b" } }), 400, /^reason: must not contain NUL/],
      ["a lone surrogate", () => create({ raw: `{"userId":${target.id},"reason":"\\ud800"}` }), 400, /^reason: must not contain NUL characters or broken Unicode/],
      ["no reason", () => create({ json: { userId: target.id } }), 400, /^reason: /],
      ["a blank reason", () => create({ json: { userId: target.id, reason: "   " } }), 400, /^reason: Give a reason/],
      ["both id and email", () => create({ json: { userId: target.id, email: target.email, reason: "x" } }), 400, /either a user ID or an email/],
      ["neither", () => create({ json: { reason: "x" } }), 400, /either a user ID or an email/],
      ["a string id", () => create({ json: { userId: "1", reason: "x" } }), 400, /^userId: User ID must be a number/],
      ["a javascript: ticket link", () => create({ json: { userId: target.id, reason: "x", ticketUrl: "javascript:alert(1)" } }), 400, /^ticketUrl: The ticket link must be an http/],
      ["an unknown key", () => create({ json: { userId: target.id, reason: "x", admin: true } }), 400, /Unrecognized key/i],
      ["a __proto__ key", () => create({ raw: `{"userId":${target.id},"reason":"x","__proto__":{"admin":true}}` }), 400, /Unrecognized key/i],
      ["redeem: not JSON", () => redeemRaw({ raw: "token=abc", contentType: "application/x-www-form-urlencoded" }), 415, /application\/json/],
      ["redeem: a short token", () => redeemRaw({ json: { token: "abc" } }), 400, /^token: The ticket is not a valid link/],
      ["redeem: a number", () => redeemRaw({ json: { token: 5 } }), 400, /^token: /],
      ["redeem: NUL", () => redeemRaw({ json: { token: `${created.token.slice(0, 42)}\u0000` } }), 400, /^token: /],
      ["redeem: extra keys", () => redeemRaw({ json: { token: created.token, userId: 1 } }), 400, /Unrecognized key/i],
      ["revoke: not a number", () => revoke(admin, "abc"), 400, /whole number/],
      ["revoke: zero", () => revoke(admin, "0"), 400, /positive/],
      ["revoke: too large", () => revoke(admin, "9999999999"), 400, /too large/],
    ]
    for (const [label, send, status, message] of cases) {
      const res = await send()
      expect({ label, status: res.status }).toEqual({ label, status })
      expect(res.body.error?.message, label).toMatch(message)
    }
    expect(await rowCounts()).toEqual(before)
    expect(await tokenRow(created.id)).toMatchObject({ status: "PENDING" })
  })

  it("stops reading a chunked body at the limit", async () => {
    const chunk = new TextEncoder().encode(`{"token":"${"a".repeat(16 * 1024)}`)
    let pulled = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 4 * 1024 * 1024) return controller.close()
        pulled += chunk.byteLength
        controller.enqueue(chunk)
      },
    })
    const res = await callApi(new TestBrowser(), "POST", "/api/actor-tokens/redeem", { raw: body })
    expect(res.status).toBe(413)
    expect(pulled).toBeLessThan(64 * 1024 + 4 * chunk.byteLength)
  })
})

describe("the RPC mutations behind the console dialog and the ticket page", () => {
  it("create, revoke and redeem through the RPC route, the link built on the request's host", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const host = { host: "support.example.test:8443" }
    const created = await admin.rpc<{ id: number; token: string; url: string; expiresAt: Date }>(
      "createActorToken",
      { userId: target.id, reason: "dialog", ticketUrl: "https://tickets.example/9" },
      { headers: host },
    )
    expect(created.error).toBeNull()
    expect(created.result!.url).toBe(`http://support.example.test:8443/impersonate?ticket=${created.result!.token}`)
    expect(created.result!.expiresAt).toBeInstanceOf(Date)
    const again = await admin.rpc<{ id: number; token: string }>("createActorToken", { userId: target.id, reason: "x" }, { headers: host })
    expect((await admin.rpc("revokeActorToken", { id: again.result!.id })).result).toMatchObject({ status: "revoked" })

    const tab = new TestBrowser()
    const redeemed = await tab.rpc("redeemActorToken", { token: created.result!.token })
    expect(redeemed.error).toBeNull()
    expect(redeemed.result).toMatchObject({ handBackToActor: false, user: { id: target.id } })
    expect(await currentUser(tab)).toMatchObject({ id: target.id, ticketUrl: "https://tickets.example/9" })
    const replay = await new TestBrowser().rpc("redeemActorToken", { token: created.result!.token })
    expect(replay.error).toMatchObject({ code: "USED" })
    const revokedReplay = await new TestBrowser().rpc("redeemActorToken", { token: again.result!.token })
    expect(revokedReplay.error).toMatchObject({ code: "REVOKED" })
  })

  it("uses APP_ORIGIN over the Host header when it is set, and refuses a malformed Host", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const http = serverConfig.http
    const saved = http.appOrigin
    try {
      http.appOrigin = "https://support.example.com"
      const res = await callApi<Created>(admin, "POST", "/api/actor-tokens", { json: { userId: target.id, reason: "origin" } })
      expect(res.body.url).toBe(`https://support.example.com/impersonate?ticket=${res.body.token}`)
      http.appOrigin = null
      const before = await rowCounts()
      const bad = await callApi(admin, "POST", "/api/actor-tokens", {
        json: { userId: target.id, reason: "origin" },
        headers: { host: "evil.example/path" },
      })
      expect(bad.status).toBe(400)
      expect(bad.body.error?.message).toMatch(/Host header/)
      expect(await rowCounts()).toEqual(before)
    } finally {
      http.appOrigin = saved
    }
  })
})

describe("while impersonating", () => {
  it("a session that is an impersonation cannot revoke tokens, by RPC or API, even its subject's own", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const created = await createToken(await signIn(support), await createUser({ label: "target" }))
    const acting = await signIn(superadmin)
    expect((await acting.rpc("impersonateUser", { userId: support.id, reason: "Checking tokens" })).error).toBeNull()
    const byRpc = await acting.rpc("revokeActorToken", { id: created.id })
    // By RPC the gate answers first (a mutation in a read-only impersonation); the API route asks the resolver's rule.
    expect(byRpc.error).toMatchObject({ code: "IMPERSONATION_READ_ONLY", statusCode: 403 })
    expectRefused(await revoke(acting, created.id), 403, "ALREADY_IMPERSONATING")
    expect(await tokenRow(created.id)).toMatchObject({ status: "PENDING", revokedById: null })
  })
})

describe("the token stays out of the logs", () => {
  it("logs refusals at info with their code, never the token", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const admin = await signIn(support)
    const written: string[] = []
    log.level = "debug"
    const capture = (chunk: unknown) => (written.push(String(chunk)), true)
    vi.spyOn(process.stdout, "write").mockImplementation(capture)
    vi.spyOn(process.stderr, "write").mockImplementation(capture)
    try {
      const created = await createToken(admin, target)
      expect((await redeem(new TestBrowser(), created.token)).status).toBe(200)
      expect((await redeem(new TestBrowser(), created.token)).status).toBe(410)
      const byRpc = await new TestBrowser().rpc("redeemActorToken", { token: created.token })
      expect(byRpc.error?.code).toBe("USED")
      const text = written.join("")
      expect(text).toMatch(/"code":"USED"/)
      expect(text).not.toContain(created.token)
      expect(text).not.toContain(crypto.createHash("sha256").update(created.token).digest("hex"))
    } finally {
      vi.restoreAllMocks()
      log.level = process.env.LOG_LEVEL ?? "info"
    }
  })
})

describe("a flood of unknown tickets", () => {
  it("is refused per client address after the sign-in throttle's limit, audited once per lock", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const created = await createToken(await signIn(support), target)
    const throttle = serverConfig.loginThrottle
    const saved = { ...throttle }
    const ip = `10.${crypto.randomInt(256)}.${crypto.randomInt(256)}.${crypto.randomInt(1, 255)}`
    const from = { headers: { [PEER_ADDRESS_HEADER]: peerAddressHeaderValue(ip) } }
    const guess = () => crypto.randomBytes(32).toString("base64url")
    try {
      throttle.ipMaxFailures = 3
      for (let i = 0; i < 3; i++) {
        expectRefused(await callApi(new TestBrowser(), "POST", "/api/actor-tokens/redeem", { json: { token: guess() }, ...from }), 404, "UNKNOWN")
      }
      const auditBefore = await db.auditEvent.count()
      // Locked: even a real ticket is refused from this address, and only the first refusal is audited.
      const locked = await callApi(new TestBrowser(), "POST", "/api/actor-tokens/redeem", { json: { token: created.token }, ...from })
      expectRefused(locked, 429, "THROTTLED", /Too many unknown or used links from this address/)
      expectRefused(await callApi(new TestBrowser(), "POST", "/api/actor-tokens/redeem", { json: { token: guess() }, ...from }), 429, "THROTTLED")
      expect(await db.auditEvent.count()).toBe(auditBefore + 1)
      expect(await tokenRow(created.id)).toMatchObject({ status: "PENDING" })
      // Another address is not held by this one's lock.
      expect((await redeem(new TestBrowser(), created.token)).status).toBe(200)
    } finally {
      Object.assign(throttle, saved)
    }
  })

  it("replays of a used ticket count too: a replay flood is refused and audited once per lock", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const created = await createToken(await signIn(support), await createUser({ label: "target" }))
    expect((await redeem(new TestBrowser(), created.token)).status).toBe(200)
    const throttle = serverConfig.loginThrottle
    const saved = { ...throttle }
    const ip = `10.${crypto.randomInt(256)}.${crypto.randomInt(256)}.${crypto.randomInt(1, 255)}`
    const from = { headers: { [PEER_ADDRESS_HEADER]: peerAddressHeaderValue(ip) } }
    const replay = () => callApi(new TestBrowser(), "POST", "/api/actor-tokens/redeem", { json: { token: created.token }, ...from })
    try {
      throttle.ipMaxFailures = 3
      const auditBefore = await db.auditEvent.count()
      for (let i = 0; i < 3; i++) expectRefused(await replay(), 410, "USED")
      for (let i = 0; i < 5; i++) expectRefused(await replay(), 429, "THROTTLED")
      // Three refusals, then one for the lock: eight replays, four audit rows.
      expect(await db.auditEvent.count()).toBe(auditBefore + 4)
    } finally {
      Object.assign(throttle, saved)
    }
  })
})

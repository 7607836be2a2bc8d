import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { listLiveImpersonations } from "app/admin/impersonations/liveImpersonations"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import type { EndAsAdminResult } from "app/impersonation/mutations/endImpersonationAsAdmin"
import { END_REFUSAL_MESSAGES, mayViewImpersonation, type EndRefusalCode } from "app/impersonation/policy"
import { TestBrowser } from "test/helpers/browser"
import { createOrganization, createUser, rowCounts } from "test/helpers/fixtures"
import { signIn, currentUser } from "test/helpers/session"

/**
 * Issue 6, item 4: Active impersonations in the admin console (who sees which row) and End
 * (who may press it, what it records, and what the impersonated browser sees next).
 */

type Person = { id: number; email: string }
type Started = { impersonationId: number; expiresAt: Date }

async function impersonate(browser: TestBrowser, target: Person, extra: { reason?: string; ticketUrl?: string } = {}) {
  const res = await browser.rpc<Started>("impersonateUser", { userId: target.id, reason: "console check", ...extra })
  expect(res.error).toBeNull()
  return res.result!.impersonationId
}

/** An admin in another browser who is impersonating `target`: the session End reaches. */
async function liveImpersonation(actor: Person, target: Person, extra?: { reason?: string; ticketUrl?: string }) {
  const browser = await signIn(actor)
  const impersonationId = await impersonate(browser, target, extra)
  return { browser, impersonationId }
}

function endAsAdmin(browser: TestBrowser, impersonationId: unknown, headers?: Record<string, string>) {
  return browser.rpc<EndAsAdminResult>("endImpersonationAsAdmin", { impersonationId }, { headers })
}

async function policyUser(user: Person) {
  return toPolicyUser(await db.user.findUniqueOrThrow({ where: { id: user.id }, ...userForPolicy }))
}

function endedEvents(impersonationId: number) {
  return db.auditEvent.findMany({ where: { impersonationId, action: "IMPERSONATION_ENDED" }, orderBy: { id: "asc" } })
}

/** A refusal in words with its code; the impersonation and everything else untouched. */
async function expectRefusedEnd(
  browser: TestBrowser,
  impersonationId: number,
  code: EndRefusalCode,
  statusCode: number,
) {
  const before = await rowCounts()
  const row = await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })
  const res = await endAsAdmin(browser, impersonationId)
  expect(res.result).toBeNull()
  expect(res.error).toMatchObject({ code, statusCode, message: END_REFUSAL_MESSAGES[code] })
  expect(await rowCounts()).toEqual(before)
  expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).toEqual(row)
}

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("Active impersonations: who sees which", () => {
  it("shows platform staff every live one, org admins their own and their organizations', others none", async () => {
    const [orgA, orgB, orgC] = await Promise.all([
      createOrganization("live-a"),
      createOrganization("live-b"),
      createOrganization("live-c"),
    ])
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const otherSupport = await createUser({ label: "support2", role: "SUPPORT" })
    const ownerA = await createUser({ label: "owner-a", organization: { id: orgA.id, role: "OWNER" } })
    const adminA = await createUser({ label: "admin-a", organization: { id: orgA.id, role: "ADMIN" } })
    const memberA1 = await createUser({ label: "member-a1", organization: { id: orgA.id, role: "MEMBER" } })
    const memberA2 = await createUser({ label: "member-a2", organization: { id: orgA.id, role: "MEMBER" } })
    const adminB = await createUser({ label: "admin-b", organization: { id: orgB.id, role: "ADMIN" } })
    const memberB = await createUser({ label: "member-b", organization: { id: orgB.id, role: "MEMBER" } })
    const adminC = await createUser({ label: "admin-c", organization: { id: orgC.id, role: "ADMIN" } })
    const [userX, userY, userZ] = await Promise.all([
      createUser({ label: "x" }),
      createUser({ label: "y" }),
      createUser({ label: "z" }),
    ])

    const bySupport = (await liveImpersonation(support, userX)).impersonationId
    const bySuperadmin = (await liveImpersonation(superadmin, userY)).impersonationId
    const byOwnerA = (
      await liveImpersonation(ownerA, memberA1, { reason: "Ticket 77: export", ticketUrl: "https://tickets.example/77" })
    ).impersonationId
    const byAdminA = (await liveImpersonation(adminA, memberA2)).impersonationId
    const byAdminB = (await liveImpersonation(adminB, memberB)).impersonationId
    // Neither an ended nor a timed-out one (not yet noticed by any request) is listed.
    const stopped = await liveImpersonation(otherSupport, userZ)
    expect((await stopped.browser.rpc("stopImpersonating", {})).error).toBeNull()
    const expired = (await liveImpersonation(otherSupport, userX)).impersonationId
    await db.impersonation.update({ where: { id: expired }, data: { expiresAt: new Date(Date.now() - 1000) } })

    const now = new Date()
    const allLive = await db.impersonation.findMany({ where: { endedAt: null, expiresAt: { gt: now } } })
    const list = async (viewer: Person) => listLiveImpersonations(await policyUser(viewer), now)
    const ids = (rows: Array<{ id: number }>) => rows.map((row) => row.id).sort((a, b) => a - b)

    // Platform staff: every live impersonation on the platform, exactly.
    for (const staff of [superadmin, support]) {
      const rows = await list(staff)
      expect(ids(rows)).toEqual(ids(allLive))
      expect(ids(rows)).toEqual(expect.arrayContaining([bySupport, bySuperadmin, byOwnerA, byAdminA, byAdminB]))
      expect(ids(rows)).not.toContain(stopped.impersonationId)
      expect(ids(rows)).not.toContain(expired)
    }
    // Only a superadmin may end another admin's; support only its own.
    const superadminRows = await list(superadmin)
    expect(superadminRows.every((row) => row.mayEnd)).toBe(true)
    const supportRows = await list(support)
    for (const row of supportRows) expect(row.mayEnd).toBe(row.admin.id === support.id)
    expect(supportRows.find((row) => row.id === bySupport)?.mayEnd).toBe(true)

    // Organization admins: their own and those granted by an organization they administer.
    const ownerRows = await list(ownerA)
    expect(ownerRows.map((row) => [row.id, row.mayEnd])).toEqual([
      [byAdminA, false],
      [byOwnerA, true],
    ])
    expect((await list(adminA)).map((row) => [row.id, row.mayEnd])).toEqual([
      [byAdminA, true],
      [byOwnerA, false],
    ])
    expect((await list(adminB)).map((row) => row.id)).toEqual([byAdminB])
    // An admin of an organization with none in progress, a member and a plain user: nothing.
    expect(await list(adminC)).toEqual([])
    expect(await list(memberA1)).toEqual([])
    expect(await list(userX)).toEqual([])

    // The database filter and the policy's rule agree, viewer by viewer.
    for (const viewer of [superadmin, support, ownerA, adminA, adminB, adminC, memberA1]) {
      const policy = await policyUser(viewer)
      const expected = allLive.filter((row) => mayViewImpersonation(policy, row))
      expect(ids(await list(viewer)), `viewer ${viewer.email}`).toEqual(ids(expected))
    }

    // A row carries what the page shows.
    const ownerRow = ownerRows.find((row) => row.id === byOwnerA)!
    const stored = await db.impersonation.findUniqueOrThrow({ where: { id: byOwnerA } })
    expect(ownerRow).toEqual({
      id: byOwnerA,
      admin: { id: ownerA.id, name: ownerA.name, email: ownerA.email },
      user: { id: memberA1.id, name: memberA1.name, email: memberA1.email },
      organization: { id: orgA.id, name: orgA.name },
      reason: "Ticket 77: export",
      ticketUrl: "https://tickets.example/77",
      mode: "READ_ONLY",
      startedAt: stored.startedAt,
      expiresAt: stored.expiresAt,
      mayEnd: true,
    })
    expect(supportRows.find((row) => row.id === bySupport)?.organization).toBeNull()
  })
})

describe("End in the console", () => {
  it("lets a superadmin end another admin's; the impersonated browser is back with its admin at its next request", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const { browser: impersonated, impersonationId } = await liveImpersonation(support, target)
    const console = await signIn(superadmin)
    const before = await rowCounts()

    const res = await endAsAdmin(console, impersonationId, { "user-agent": "superadmin-console" })
    expect(res.error).toBeNull()
    expect(res.result).toEqual({ status: "ENDED", impersonationId })

    const row = await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })
    expect(row).toMatchObject({ endReason: "ENDED_BY_ADMIN", endedById: superadmin.id })
    expect(row.endedAt).toBeInstanceOf(Date)
    // One audit event, naming who pressed End, from the request that pressed it.
    const ended = await endedEvents(impersonationId)
    expect(ended).toHaveLength(1)
    expect(ended[0]).toMatchObject({ actorId: support.id, subjectId: target.id, userAgent: "superadmin-console" })
    expect(ended[0]?.details).toMatchObject({ endReason: "ENDED_BY_ADMIN", endedById: superadmin.id })
    expect(await rowCounts()).toEqual({ ...before, auditEvents: before.auditEvents + 1 })
    expect((await listLiveImpersonations(await policyUser(superadmin))).map((r) => r.id)).not.toContain(impersonationId)

    // The impersonated browser's next request, with no help from it, is its admin's again.
    expect(await currentUser(impersonated)).toMatchObject({ id: support.id, impersonator: null })
    expect((await impersonated.pageSession()).userId).toBe(support.id)
    expect(await endedEvents(impersonationId)).toHaveLength(1)
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).toEqual(row)
  })

  it("lets an admin end their own from another browser", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const { browser: impersonated, impersonationId } = await liveImpersonation(support, target)
    const console = await signIn(support)

    expect((await endAsAdmin(console, impersonationId)).result).toEqual({ status: "ENDED", impersonationId })
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).toMatchObject({
      endReason: "ENDED_BY_ADMIN",
      endedById: support.id,
    })
    expect(await currentUser(impersonated)).toMatchObject({ id: support.id, impersonator: null })
    expect(await currentUser(console)).toMatchObject({ id: support.id, impersonator: null })
  })

  it("lets an org owner end their own, and refuses another admin's in their organization", async () => {
    const org = await createOrganization("end-org")
    const owner = await createUser({ label: "owner", organization: { id: org.id, role: "OWNER" } })
    const admin = await createUser({ label: "admin", organization: { id: org.id, role: "ADMIN" } })
    const [m1, m2] = [
      await createUser({ label: "m1", organization: { id: org.id, role: "MEMBER" } }),
      await createUser({ label: "m2", organization: { id: org.id, role: "MEMBER" } }),
    ]
    const byAdmin = await liveImpersonation(admin, m1)
    const byOwner = await liveImpersonation(owner, m2)
    const ownerConsole = await signIn(owner)

    await expectRefusedEnd(ownerConsole, byAdmin.impersonationId, "NOT_YOURS", 403)
    expect(await currentUser(byAdmin.browser)).toMatchObject({ id: m1.id, impersonator: { id: admin.id } })
    expect((await endAsAdmin(ownerConsole, byOwner.impersonationId)).result).toMatchObject({ status: "ENDED" })
    expect(await currentUser(byOwner.browser)).toMatchObject({ id: owner.id, impersonator: null })
  })

  it("refuses support another admin's: in words, nothing changed, the impersonation goes on", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const { browser: impersonated, impersonationId } = await liveImpersonation(superadmin, target)
    const console = await signIn(support)

    await expectRefusedEnd(console, impersonationId, "NOT_YOURS", 403)
    expect(await currentUser(impersonated)).toMatchObject({ id: target.id, impersonator: { id: superadmin.id } })
    expect(await endedEvents(impersonationId)).toHaveLength(0)
  })

  it("answers an id outside an org admin's organizations as unknown, and a plain user with no permission", async () => {
    const org = await createOrganization("elsewhere")
    const orgAdmin = await createUser({ label: "orgadmin", organization: { id: org.id, role: "ADMIN" } })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const plain = await createUser({ label: "plain" })
    const target = await createUser({ label: "target" })
    const { browser: impersonated, impersonationId } = await liveImpersonation(support, target)

    await expectRefusedEnd(await signIn(orgAdmin), impersonationId, "NOT_FOUND", 404)
    await expectRefusedEnd(await signIn(plain), impersonationId, "NO_PERMISSION", 403)
    expect(await currentUser(impersonated)).toMatchObject({ id: target.id, impersonator: { id: support.id } })
  })

  it("decides on the viewer's current database row, not the role in the session's public data", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const { impersonationId } = await liveImpersonation(support, target)
    const console = await signIn(superadmin)
    expect((await console.pageSession()).$publicData).toMatchObject({ role: "SUPERADMIN" })

    await db.user.update({ where: { id: superadmin.id }, data: { role: "SUPPORT" } })
    expect((await console.pageSession()).$publicData).toMatchObject({ role: "SUPERADMIN" })
    await expectRefusedEnd(console, impersonationId, "NOT_YOURS", 403)
    await db.user.update({ where: { id: superadmin.id }, data: { role: "USER" } })
    await expectRefusedEnd(console, impersonationId, "NO_PERMISSION", 403)
  })

  it("signs the impersonated browser out when the impersonation may not hand back to its admin", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const { browser: impersonated, impersonationId } = await liveImpersonation(support, target)
    const handle = (await impersonated.pageSession()).$handle!
    // As after an actor token redeemed in a browser that never held the admin's session.
    await db.impersonation.update({ where: { id: impersonationId }, data: { handBackToActor: false } })

    expect((await endAsAdmin(await signIn(superadmin), impersonationId)).result).toMatchObject({ status: "ENDED" })
    expect(await currentUser(impersonated)).toBeNull()
    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
    expect(await endedEvents(impersonationId)).toHaveLength(1)
  })

  it("signs the impersonated browser out when its next request comes more than 5 minutes after the End", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const { browser: impersonated, impersonationId } = await liveImpersonation(support, target)
    const handle = (await impersonated.pageSession()).$handle!

    expect((await endAsAdmin(await signIn(superadmin), impersonationId)).result).toMatchObject({ status: "ENDED" })
    const sixMinutesAgo = new Date(Date.now() - 6 * 60_000)
    await db.impersonation.update({ where: { id: impersonationId }, data: { endedAt: sixMinutesAgo } })

    expect(await currentUser(impersonated)).toBeNull()
    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
    expect(await db.session.count({ where: { userId: support.id } })).toBe(0)
  })

  it("answers a second End clearly and records the end once, also when two are pressed at once", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const otherSuperadmin = await createUser({ label: "sa2", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const [t1, t2] = [await createUser({ label: "t1" }), await createUser({ label: "t2" })]
    const console = await signIn(superadmin)

    const first = await liveImpersonation(support, t1)
    expect((await endAsAdmin(console, first.impersonationId)).result).toMatchObject({ status: "ENDED" })
    const before = await rowCounts()
    const again = await endAsAdmin(console, first.impersonationId)
    expect(again.error).toBeNull()
    expect(again.result).toEqual({
      status: "ALREADY_ENDED",
      impersonationId: first.impersonationId,
      message: "This impersonation has already ended",
    })
    expect(await rowCounts()).toEqual(before)
    expect(await endedEvents(first.impersonationId)).toHaveLength(1)

    const second = await liveImpersonation(support, t2)
    const otherConsole = await signIn(otherSuperadmin)
    const results = await Promise.all([
      endAsAdmin(console, second.impersonationId),
      endAsAdmin(otherConsole, second.impersonationId),
    ])
    expect(results.map((res) => res.error)).toEqual([null, null])
    expect(results.map((res) => res.result?.status).sort()).toEqual(["ALREADY_ENDED", "ENDED"])
    const ended = await endedEvents(second.impersonationId)
    expect(ended).toHaveLength(1)
    const winner = results[0]!.result?.status === "ENDED" ? superadmin : otherSuperadmin
    expect(ended[0]?.details).toMatchObject({ endReason: "ENDED_BY_ADMIN", endedById: winner.id })
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: second.impersonationId } })).toMatchObject({
      endedById: winner.id,
    })
  })

  it("answers an impersonation that ran out as already ended and leaves its expiry to be recorded", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const { browser: impersonated, impersonationId } = await liveImpersonation(support, target)
    await db.impersonation.update({ where: { id: impersonationId }, data: { expiresAt: new Date(Date.now() - 1000) } })
    const console = await signIn(superadmin)
    const before = await rowCounts()

    expect((await endAsAdmin(console, impersonationId)).result).toMatchObject({ status: "ALREADY_ENDED" })
    expect(await rowCounts()).toEqual(before)
    expect(await currentUser(impersonated)).toMatchObject({ id: support.id })
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).toMatchObject({
      endReason: "EXPIRED",
      endedById: null,
    })
  })

  it("refuses End while the viewer's own session is an impersonation", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const [t1, t2] = [await createUser({ label: "t1" }), await createUser({ label: "t2" })]
    const other = await liveImpersonation(support, t1)
    const mine = await liveImpersonation(superadmin, t2)

    // The RPC route's gate answers first: End is a mutation, and this impersonation is read-only.
    for (const id of [other.impersonationId, mine.impersonationId]) {
      const row = await db.impersonation.findUniqueOrThrow({ where: { id } })
      const res = await endAsAdmin(mine.browser, id)
      expect(res.error).toMatchObject({ code: "IMPERSONATION_READ_ONLY", statusCode: 403 })
      expect(await db.impersonation.findUniqueOrThrow({ where: { id } })).toEqual(row)
    }
    expect(await currentUser(mine.browser)).toMatchObject({ id: t2.id, impersonator: { id: superadmin.id } })
    expect(await currentUser(other.browser)).toMatchObject({ id: t1.id, impersonator: { id: support.id } })
  })

  it("refuses bad input with a 4xx in words and changes nothing", async () => {
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const { browser: impersonated, impersonationId } = await liveImpersonation(support, target)
    const console = await signIn(superadmin)
    const before = await rowCounts()

    const cases: Array<[string, () => ReturnType<TestBrowser["rpc"]>, RegExp]> = [
      ["no id", () => console.rpc("endImpersonationAsAdmin", {}), /impersonationId/],
      ["a string id", () => endAsAdmin(console, String(impersonationId)), /must be a number/],
      ["a negative id", () => endAsAdmin(console, -impersonationId), /positive/],
      ["a fraction", () => endAsAdmin(console, impersonationId + 0.5), /whole number/],
      ["an id too large", () => endAsAdmin(console, 2 ** 31), /too large/],
      [
        "an extra key",
        () => console.rpc("endImpersonationAsAdmin", { impersonationId, endedById: 1 }),
        /Unrecognized key.*endedById/,
      ],
      ["no params", () => console.rpc("endImpersonationAsAdmin", null), /expected object/],
    ]
    for (const [label, send, message] of cases) {
      const res = await send()
      expect(res.result, label).toBeNull()
      expect(res.error, label).toMatchObject({ name: "InputValidationError", statusCode: 400 })
      expect(res.error?.message, label).toMatch(message)
    }
    const unknown = await endAsAdmin(console, 2_000_000_000)
    expect(unknown.error).toMatchObject({ statusCode: 404, code: "NOT_FOUND", message: "There is no impersonation with that ID" })
    const noCsrf = await console.rpc("endImpersonationAsAdmin", { impersonationId }, { csrf: false })
    expect(noCsrf.status).toBe(403)
    const signedOut = await endAsAdmin(new TestBrowser(), impersonationId)
    expect(signedOut.error).toMatchObject({ name: "AuthenticationError", statusCode: 401 })

    expect(await rowCounts()).toEqual(before)
    expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).toMatchObject({ endedAt: null })
    expect(await currentUser(impersonated)).toMatchObject({ id: target.id, impersonator: { id: support.id } })
  })
})

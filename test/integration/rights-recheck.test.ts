import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { LAST_SEEN_RESOLUTION_MS } from "app/impersonation/guard"
import type { EndReason } from "app/impersonation/policy"
import type { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createOrganization, createUser } from "test/helpers/fixtures"
import { currentUser, signIn } from "test/helpers/session"

/**
 * Rule 7 (issue 7, item 7): each change to the admin's or the user's rights ends a live
 * impersonation at its next request, with the matching end reason on the Impersonation row
 * and in its one IMPERSONATION_ENDED audit event; and impersonated requests never move the
 * user's last-seen time, while the user's own requests do (at most once a minute).
 */

type Person = Awaited<ReturnType<typeof createUser>>

/** An organization with its OWNER, an ADMIN and a MEMBER; the ADMIN impersonates the MEMBER in a browser of their own. */
async function orgAdminImpersonating() {
  const org = await createOrganization("recheck")
  const owner = await createUser({ label: "owner", organization: { id: org.id, role: "OWNER" } })
  const admin = await createUser({ label: "admin", organization: { id: org.id, role: "ADMIN" } })
  const member = await createUser({ label: "member", organization: { id: org.id, role: "MEMBER" } })
  const adminOwn = await signIn(admin)
  const impersonating = await signIn(admin)
  const res = await impersonating.rpc<{ impersonationId: number }>("impersonateUser", { userId: member.id, reason: "Ticket 7" })
  expect(res.error).toBeNull()
  const impersonationId = res.result!.impersonationId
  expect(await currentUser(impersonating)).toMatchObject({ id: member.id, impersonator: { id: admin.id } })
  return { org, owner, admin, member, adminOwn, impersonating, impersonationId }
}

async function expectLive(impersonationId: number) {
  expect(await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).toMatchObject({ endedAt: null, endReason: null })
}

/** The impersonation ended once, for this reason, on its row and in its one audit event. */
async function expectEnded(impersonationId: number, endReason: EndReason) {
  const row = await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })
  expect(row.endReason).toBe(endReason)
  expect(row.endedAt).toBeInstanceOf(Date)
  const events = await db.auditEvent.findMany({ where: { impersonationId, action: "IMPERSONATION_ENDED" } })
  expect(events).toHaveLength(1)
  expect(events[0]).toMatchObject({ actorId: row.actorId, subjectId: row.subjectId, impersonationId })
  expect(events[0]!.details).toMatchObject({ endReason })
}

/** The impersonating browser's next request, as the person would make it: who am I now? */
async function nextRequest(browser: TestBrowser) {
  return currentUser(browser)
}

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("a live impersonation ends at its next request when rights change", () => {
  it("the admin changes their password: PASSWORD_CHANGED", async () => {
    const { admin, adminOwn, impersonating, impersonationId } = await orgAdminImpersonating()
    const res = await adminOwn.rpc("changePassword", { currentPassword: PASSWORD, newPassword: "another-password-42" })
    expect(res.error).toBeNull()
    expect(await nextRequest(impersonating)).toBeNull()
    await expectEnded(impersonationId, "PASSWORD_CHANGED")
    expect((await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).endedById).toBe(admin.id)
    // The admin's own browser stays signed in.
    expect((await currentUser(adminOwn))?.id).toBe(admin.id)
  })

  it("the admin signs out everywhere: SIGNED_OUT", async () => {
    const { adminOwn, impersonating, impersonationId } = await orgAdminImpersonating()
    expect((await adminOwn.rpc("signOutEverywhere", {})).error).toBeNull()
    expect(await nextRequest(impersonating)).toBeNull()
    await expectEnded(impersonationId, "SIGNED_OUT")
  })

  it("the organization's owner demotes the admin (changeMemberRole): ACTOR_REVOKED", async () => {
    const { org, owner, admin, impersonating, impersonationId } = await orgAdminImpersonating()
    const byOwner = await signIn(owner)
    const res = await byOwner.rpc("changeMemberRole", { organizationId: org.id, userId: admin.id, role: "MEMBER" })
    expect(res.error).toBeNull()
    await expectLive(impersonationId)
    // No longer an admin anywhere: the browser is not handed back to them either.
    expect(await nextRequest(impersonating)).toBeNull()
    await expectEnded(impersonationId, "ACTOR_REVOKED")
  })

  it("the admin is disabled: ACTOR_REVOKED", async () => {
    const { admin, impersonating, impersonationId } = await orgAdminImpersonating()
    await db.user.update({ where: { id: admin.id }, data: { status: "DISABLED" } })
    await expectLive(impersonationId)
    expect(await nextRequest(impersonating)).toBeNull()
    await expectEnded(impersonationId, "ACTOR_REVOKED")
  })

  it("the user is disabled: TARGET_REVOKED", async () => {
    const { admin, member, impersonating, impersonationId } = await orgAdminImpersonating()
    await db.user.update({ where: { id: member.id }, data: { status: "DISABLED" } })
    await expectLive(impersonationId)
    // The admin still holds their rights: the browser is theirs again.
    expect(await nextRequest(impersonating)).toMatchObject({ id: admin.id, impersonator: null })
    await expectEnded(impersonationId, "TARGET_REVOKED")
  })

  it("the user turns consent off: TARGET_REVOKED", async () => {
    const { admin, member, impersonating, impersonationId } = await orgAdminImpersonating()
    await db.user.update({ where: { id: member.id }, data: { impersonationConsent: "NEVER" } })
    await expectLive(impersonationId)
    expect(await nextRequest(impersonating)).toMatchObject({ id: admin.id, impersonator: null })
    await expectEnded(impersonationId, "TARGET_REVOKED")
  })

  it("an RPC mutation as the next request never lands on the user", async () => {
    const { admin, member, impersonating, impersonationId } = await orgAdminImpersonating()
    await db.user.update({ where: { id: member.id }, data: { impersonationConsent: "NEVER" } })
    const res = await impersonating.rpc("updateProfile", { name: "Changed by support" })
    // The guard ended it first and handed the browser back: the call ran as the admin, for the admin.
    expect(res.error).toBeNull()
    expect(res.result).toMatchObject({ id: admin.id })
    expect((await db.user.findUniqueOrThrow({ where: { id: member.id } })).name).toBe(member.name)
    await expectEnded(impersonationId, "TARGET_REVOKED")
    expect(await db.auditEvent.count({ where: { impersonationId, action: "IMPERSONATED_MUTATION" } })).toBe(0)
  })
})

describe("last seen", () => {
  const lastSeen = async (user: Person) => (await db.user.findUniqueOrThrow({ where: { id: user.id } })).lastSeenAt
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000)

  it("a sign-in sets it", async () => {
    const user = await createUser()
    expect(await lastSeen(user)).toBeNull()
    const before = Date.now()
    await signIn(user)
    expect((await lastSeen(user))!.getTime()).toBeGreaterThanOrEqual(before - 1000)
  })

  it("the user's own requests move it at most once a minute", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    const stale = minutesAgo(5)
    await db.user.update({ where: { id: user.id }, data: { lastSeenAt: stale } })
    const before = Date.now()
    await currentUser(browser)
    const moved = (await lastSeen(user))!
    expect(moved.getTime()).toBeGreaterThanOrEqual(before - 1000)
    // Within the minute nothing is written again, by RPC or by a page.
    await currentUser(browser)
    await browser.pageSession()
    expect(await lastSeen(user)).toEqual(moved)
    // Just past the minute it moves again.
    const older = new Date(Date.now() - LAST_SEEN_RESOLUTION_MS - 1000)
    await db.user.update({ where: { id: user.id }, data: { lastSeenAt: older } })
    await browser.pageSession()
    expect((await lastSeen(user))!.getTime()).toBeGreaterThan(older.getTime())
  })

  it("impersonated requests never move the user's last-seen time; the user's own do", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "user" })
    const stale = minutesAgo(30)
    await db.user.update({ where: { id: user.id }, data: { lastSeenAt: stale } })
    const browser = await signIn(support)
    const res = await browser.rpc("impersonateUser", { userId: user.id, reason: "Ticket 7: last seen" })
    expect(res.error).toBeNull()

    expect((await currentUser(browser))?.id).toBe(user.id)
    expect((await browser.rpc("getSettings")).error).toBeNull()
    await browser.pageSession()
    expect(await lastSeen(user)).toEqual(stale)
    // What the impersonating admin sees is the user's real last visit.
    expect((await browser.rpc<{ lastSeenAt: Date }>("getSettings")).result!.lastSeenAt).toEqual(stale)

    const own = await signIn(user)
    expect((await lastSeen(user))!.getTime()).toBeGreaterThan(stale.getTime())
    await db.user.update({ where: { id: user.id }, data: { lastSeenAt: stale } })
    await currentUser(own)
    expect((await lastSeen(user))!.getTime()).toBeGreaterThan(stale.getTime())
  })
})

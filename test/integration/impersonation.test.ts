import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { sealPendingAuditEvents, verifyAuditChain } from "app/audit/log"
import { isUniqueViolation } from "app/core/errors"
import { RETURNED_SESSION_MAX_MS } from "app/impersonation/guard"
import { COOKIE, TestBrowser } from "test/helpers/browser"
import {
  PASSWORD,
  auditEventsFor,
  createOrganization,
  createUser,
  decodePublicDataCookie,
  rowCounts,
} from "test/helpers/fixtures"
import { signIn, currentUser, stop } from "test/helpers/session"

type Started = {
  impersonationId: number
  expiresAt: Date
  subject: { id: number; email: string; name: string }
}
type Person = { id: number; email: string }

const TTL_MS = 20 * 60 * 1000
const IMPERSONATION_FIELDS = [
  "impersonatingFromUserId",
  "impersonationId",
  "impersonationExpiresAt",
]

async function impersonate(browser: TestBrowser, target: Person, reason = "ticket #1") {
  const res = await browser.rpc<Started>("impersonateUser", { userId: target.id, reason })
  expect(res.error).toBeNull()
  expect(res.result?.subject.id).toBe(target.id)
  return res.result!
}

async function handleOf(browser: TestBrowser) {
  const handle = (await browser.pageSession()).$handle
  expect(handle).toBeTruthy()
  return handle!
}

function endedEvents(impersonationId: number) {
  return db.auditEvent.findMany({
    where: { impersonationId, action: "IMPERSONATION_ENDED" },
    orderBy: { id: "asc" },
  })
}

/**
 * What a failed statement said. Prisma's driver adapters keep the database's own message in
 * `meta.driverAdapterError` (the PGlite adapter leaves `message` as "Message: `undefined`").
 */
async function dbFailure(statement: Promise<unknown>): Promise<string> {
  try {
    await statement
  } catch (error) {
    const { message, meta } = error as { message?: string; meta?: unknown }
    return `${message ?? ""} ${JSON.stringify(meta ?? null)}`
  }
  throw new Error("expected the statement to be refused, but it succeeded")
}

/** Ends the impersonation's time limit without any client request. */
function expireNow(impersonationId: number) {
  return db.impersonation.update({
    where: { id: impersonationId },
    data: { expiresAt: new Date(Date.now() - 1000) },
  })
}

// Opening (and migrating) the database is slow on PGlite: do it in a hook, not in the first test.
beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("starting an impersonation", () => {
  it("switches the session to the target and records who is behind it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const before = Date.now()
    const started = await impersonate(browser, target, "Ticket 4711: cannot see invoices")
    const after = Date.now()

    expect(started.expiresAt).toBeInstanceOf(Date)
    expect(started.subject).toEqual({ id: target.id, email: target.email, name: target.name })

    const me = await currentUser(browser)
    expect(me).toMatchObject({
      id: target.id,
      email: target.email,
      name: target.name,
      role: "USER",
      impersonator: { id: support.id, email: support.email, name: support.name },
      reason: "Ticket 4711: cannot see invoices",
      mode: "READ_ONLY",
    })
    expect(me!.impersonator).toEqual({ id: support.id, email: support.email, name: support.name })
    const expiresAt = me!.impersonationExpiresAt!.getTime()
    expect(expiresAt).toBeGreaterThanOrEqual(before + TTL_MS - 1000)
    expect(expiresAt).toBeLessThanOrEqual(after + TTL_MS + 1000)

    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row).toMatchObject({
      actorId: support.id,
      subjectId: target.id,
      organizationId: null,
      reason: "Ticket 4711: cannot see invoices",
      mode: "READ_ONLY",
      endedAt: null,
      endReason: null,
      endedById: null,
    })
    expect(row.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1000)
    expect(row.startedAt.getTime()).toBeLessThanOrEqual(after + 1000)
    expect(row.expiresAt.getTime() - row.startedAt.getTime()).toBe(TTL_MS)
    expect(row.expiresAt.getTime()).toBe(expiresAt)
    expect(started.expiresAt.getTime()).toBe(expiresAt)

    const expectedPublicData = {
      userId: target.id,
      role: "USER",
      impersonatingFromUserId: support.id,
      impersonationId: row.id,
      impersonationExpiresAt: row.expiresAt.toISOString(),
    }
    expect(decodePublicDataCookie(browser.cookies.get(COOKIE.publicData))).toEqual(
      expectedPublicData,
    )
    const page = await browser.pageSession()
    expect(page.userId).toBe(target.id)
    expect(page.$publicData).toEqual(expectedPublicData)

    const session = await db.session.findUniqueOrThrow({ where: { handle: page.$handle! } })
    expect(session.impersonationId).toBe(row.id)
    expect(session.userId).toBe(target.id)

    const audit = await auditEventsFor([row.id])
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({
      action: "IMPERSONATION_STARTED",
      actorId: support.id,
      subjectId: target.id,
      impersonationId: row.id,
    })
  })

  it("finds the target by email whatever its case", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const res = await browser.rpc<Started>("impersonateUser", {
      email: target.email.toUpperCase(),
      reason: "by email",
    })
    expect(res.error).toBeNull()
    expect(res.result?.subject.id).toBe(target.id)
    expect((await currentUser(browser))?.id).toBe(target.id)
    const row = await db.impersonation.findUniqueOrThrow({
      where: { id: res.result!.impersonationId },
    })
    expect(row).toMatchObject({ actorId: support.id, subjectId: target.id, reason: "by email" })
  })

  it("revokes the admin's own session handle", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const oldHandle = await handleOf(browser)
    const before = browser.clone()
    expect((await currentUser(before))?.id).toBe(support.id)

    await impersonate(browser, target)

    expect(await db.session.findUnique({ where: { handle: oldHandle } })).toBeNull()
    expect(await currentUser(before)).toBeNull()
    expect((await before.pageSession()).userId).toBeNull()
    expect(await handleOf(browser)).not.toBe(oldHandle)
    expect((await currentUser(browser))?.id).toBe(target.id)
  })

  it("refuses to nest: an impersonating session cannot start another", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const other = await createUser({ label: "other" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    const auditBefore = await db.auditEvent.count({ where: { actorId: support.id } })

    // Starting an impersonation is on the refused list (blitz.config.ts): the RPC route's gate answers.
    for (const userId of [other.id, support.id]) {
      const res = await browser.rpc("impersonateUser", { userId, reason: "nested" })
      expect(res.result).toBeNull()
      expect(res.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION", statusCode: 403 })
    }

    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(1)
    expect(await db.impersonation.count({ where: { subjectId: other.id } })).toBe(0)
    const refusals = await db.auditEvent.findMany({ where: { actorId: support.id }, orderBy: { id: "asc" }, skip: auditBefore })
    expect(refusals.map((e) => [e.action, (e.details as { outcome?: string }).outcome])).toEqual([
      ["IMPERSONATED_MUTATION", "REFUSED"],
      ["IMPERSONATED_MUTATION", "REFUSED"],
    ])
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endedAt).toBeNull()
    expect((await currentUser(browser))?.id).toBe(target.id)
  })
})

describe("refusals, in words, through the real RPC", () => {
  async function expectRefused(
    browser: TestBrowser,
    actor: Person,
    input: Record<string, unknown>,
    code: string,
    message: string | RegExp,
  ) {
    const res = await browser.rpc("impersonateUser", { reason: "refusal check", ...input })
    expect(res.result).toBeNull()
    expect(res.error?.code).toBe(code)
    if (typeof message === "string") expect(res.error?.message).toBe(message)
    else expect(res.error?.message).toMatch(message)
    expect(await db.impersonation.count({ where: { actorId: actor.id } })).toBe(0)
    const impersonationEvents = { in: ["IMPERSONATION_STARTED" as const, "IMPERSONATION_ENDED" as const] }
    expect(await db.auditEvent.count({ where: { actorId: actor.id, action: impersonationEvents } })).toBe(0)
    // The refusal itself is on record, with its reason code (security review #8).
    const refusal = await db.auditEvent.findFirst({ where: { actorId: actor.id }, orderBy: { id: "desc" } })
    expect(refusal).toMatchObject({ action: "IMPERSONATION_REFUSED", impersonationId: null })
    expect(refusal?.details).toMatchObject({ code, reason: "refusal check" })
    if (typeof input.userId === "number") {
      expect(await db.impersonation.count({ where: { subjectId: input.userId } })).toBe(0)
      expect(
        await db.auditEvent.count({ where: { subjectId: input.userId, action: impersonationEvents } }),
      ).toBe(0)
    }
    expect((await currentUser(browser))?.id).toBe(actor.id)
  }

  it("refuses support staff the refused targets", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const optedOut = await createUser({ label: "optout", impersonationConsent: "NEVER" })
    const disabled = await createUser({ label: "disabled", status: "DISABLED" })
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const otherSupport = await createUser({ label: "support2", role: "SUPPORT" })
    const browser = await signIn(support)

    await expectRefused(
      browser,
      support,
      { userId: support.id },
      "SELF",
      "You cannot impersonate yourself",
    )
    await expectRefused(
      browser,
      support,
      { userId: optedOut.id },
      "TARGET_OPTED_OUT",
      "This user has turned off support access",
    )
    await expectRefused(
      browser,
      support,
      { userId: disabled.id },
      "TARGET_DISABLED",
      "This user's account is disabled",
    )
    await expectRefused(
      browser,
      support,
      { userId: superadmin.id },
      "TARGET_PRIVILEGED",
      "This user is platform staff and cannot be impersonated by you",
    )
    await expectRefused(
      browser,
      support,
      { userId: otherSupport.id },
      "TARGET_PRIVILEGED",
      /platform staff/,
    )
    await expectRefused(
      browser,
      support,
      { userId: 2_000_000_000 },
      "TARGET_NOT_FOUND",
      "No user with that ID or email",
    )
    await expectRefused(
      browser,
      support,
      { email: `nobody-${support.id}@fixture.example` },
      "TARGET_NOT_FOUND",
      "No user with that ID or email",
    )
  })

  it("refuses a superadmin another superadmin", async () => {
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const other = await createUser({ label: "superadmin2", role: "SUPERADMIN" })
    const browser = await signIn(superadmin)
    await expectRefused(
      browser,
      superadmin,
      { userId: other.id },
      "TARGET_PRIVILEGED",
      /platform staff/,
    )
  })

  it("refuses a browser that is not signed in", async () => {
    const target = await createUser({ label: "target" })
    const counts = await rowCounts()
    const res = await new TestBrowser().rpc("impersonateUser", {
      userId: target.id,
      reason: "anon",
    })
    expect(res.result).toBeNull()
    expect(res.error?.name).toBe("AuthenticationError")
    expect(await rowCounts()).toEqual(counts)
    expect(await db.impersonation.count({ where: { subjectId: target.id } })).toBe(0)
  })

  it("refuses a plain user", async () => {
    const plain = await createUser({ label: "plain" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(plain)
    await expectRefused(
      browser,
      plain,
      { userId: target.id },
      "NO_PERMISSION",
      "You do not have permission to impersonate users",
    )
  })

  it("lets organization owners and admins act only as lower members of their own organization", async () => {
    const org = await createOrganization("org")
    const otherOrg = await createOrganization("other-org")
    const owner = await createUser({ label: "owner", organization: { id: org.id, role: "OWNER" } })
    const admin = await createUser({ label: "admin", organization: { id: org.id, role: "ADMIN" } })
    const member = await createUser({
      label: "member",
      organization: { id: org.id, role: "MEMBER" },
    })
    const member2 = await createUser({
      label: "member2",
      organization: { id: org.id, role: "MEMBER" },
    })
    const outsider = await createUser({
      label: "outsider",
      organization: { id: otherOrg.id, role: "MEMBER" },
    })
    const staffMember = await createUser({
      label: "staff",
      role: "SUPPORT",
      organization: { id: org.id, role: "MEMBER" },
    })

    const ownerBrowser = await signIn(owner)
    await expectRefused(
      ownerBrowser,
      owner,
      { userId: outsider.id },
      "NOT_SAME_ORG",
      "You can only impersonate members of your own organization",
    )
    await expectRefused(
      ownerBrowser,
      owner,
      { userId: staffMember.id },
      "TARGET_PRIVILEGED",
      /platform staff/,
    )

    const adminBrowser = await signIn(admin)
    await expectRefused(
      adminBrowser,
      admin,
      { userId: owner.id },
      "ORG_ROLE_NOT_LOWER",
      "You can only impersonate members whose role is lower than yours in every organization they belong to",
    )
    await expectRefused(
      adminBrowser,
      admin,
      { userId: outsider.id },
      "NOT_SAME_ORG",
      /own organization/,
    )

    const byOwner = await impersonate(ownerBrowser, member, "org owner check")
    const byAdmin = await impersonate(adminBrowser, member2, "org admin check")
    for (const [started, actor, subject] of [
      [byOwner, owner, member],
      [byAdmin, admin, member2],
    ] as const) {
      const row = await db.impersonation.findUniqueOrThrow({
        where: { id: started.impersonationId },
      })
      expect(row).toMatchObject({
        actorId: actor.id,
        subjectId: subject.id,
        organizationId: org.id,
      })
      const [event] = await auditEventsFor([row.id])
      expect(event).toMatchObject({ action: "IMPERSONATION_STARTED", organizationId: org.id })
    }
    expect((await currentUser(ownerBrowser))?.impersonator?.id).toBe(owner.id)
    expect((await currentUser(adminBrowser))?.id).toBe(member2.id)
  })
})

describe("stopping", () => {
  it("restores the admin and records the stop", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    const impersonatingHandle = await handleOf(browser)
    const during = browser.clone()

    expect(await stop(browser)).toEqual({ status: "RESTORED", userId: support.id })

    const me = await currentUser(browser)
    expect(me).toMatchObject({ id: support.id, impersonator: null, reason: null, mode: null })
    expect(me?.impersonationExpiresAt).toBeNull()
    const page = await browser.pageSession()
    expect(page.$publicData).toEqual({ userId: support.id, role: "SUPPORT" })
    expect(decodePublicDataCookie(browser.cookies.get(COOKIE.publicData))).toEqual({
      userId: support.id,
      role: "SUPPORT",
    })

    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endedAt).toBeInstanceOf(Date)
    expect(row).toMatchObject({ endReason: "STOPPED", endedById: support.id })

    // The impersonation session handle is revoked, not turned back into the admin's.
    expect(await db.session.findUnique({ where: { handle: impersonatingHandle } })).toBeNull()
    expect(await currentUser(during)).toBeNull()
    expect((await during.pageSession()).userId).toBeNull()

    const ended = await endedEvents(row.id)
    expect(ended).toHaveLength(1)
    expect(ended[0]?.details).toMatchObject({ endReason: "STOPPED", endedById: support.id })

    // A second stop is a no-op.
    expect(await stop(browser)).toMatchObject({ status: "NOT_IMPERSONATING" })
    expect(await endedEvents(row.id)).toHaveLength(1)
  })

  it("answers NOT_IMPERSONATING and changes nothing when there is nothing to stop", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const browser = await signIn(support)
    const handle = await handleOf(browser)
    const counts = await rowCounts()

    expect(await stop(browser)).toEqual({
      status: "NOT_IMPERSONATING",
      message: "You are not impersonating anyone",
    })
    expect(await rowCounts()).toEqual(counts)
    expect(await handleOf(browser)).toBe(handle)
    expect((await currentUser(browser))?.id).toBe(support.id)

    const stranger = new TestBrowser()
    expect(await stop(stranger)).toMatchObject({ status: "NOT_IMPERSONATING" })
    expect(await currentUser(stranger)).toBeNull()
    expect(await rowCounts()).toEqual(counts)
  })

  it("rejects a user id in the request and changes nothing", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    const counts = await rowCounts()

    const res = await browser.rpc("stopImpersonating", { userId: superadmin.id })
    expect(res.result).toBeNull()
    expect(res.error?.name).toBe("InputValidationError")
    expect(res.error?.message).toMatch(/userId/)

    expect(await rowCounts()).toEqual(counts)
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endedAt).toBeNull()
    expect(await db.session.count({ where: { userId: superadmin.id } })).toBe(0)
    expect((await currentUser(browser))?.impersonator?.id).toBe(support.id)
  })

  it("returns to the admin on the server's row even when the session's public data is tampered with", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    const handle = await handleOf(browser)
    const session = await db.session.findUniqueOrThrow({ where: { handle } })
    const publicData = JSON.parse(session.publicData!) as Record<string, unknown>
    await db.session.update({
      where: { handle },
      data: {
        publicData: JSON.stringify({
          ...publicData,
          impersonatingFromUserId: superadmin.id,
          role: "SUPERADMIN",
        }),
      },
    })

    expect(await stop(browser)).toEqual({ status: "RESTORED", userId: support.id })
    const me = await currentUser(browser)
    expect(me).toMatchObject({ id: support.id, role: "SUPPORT", impersonator: null })
    expect(await db.session.count({ where: { userId: superadmin.id } })).toBe(0)
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row).toMatchObject({ endReason: "STOPPED", endedById: support.id })
  })
})

describe("impersonation claims without a server row", () => {
  it("signs out a session whose public data claims an impersonation the server never started", async () => {
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const plain = await createUser({ label: "plain" })
    const browser = await signIn(plain)
    const handle = await handleOf(browser)
    await db.session.update({
      where: { handle },
      data: {
        publicData: JSON.stringify({
          userId: plain.id,
          role: "USER",
          impersonatingFromUserId: superadmin.id,
          impersonationId: 999_999,
        }),
      },
    })
    const counts = await rowCounts()

    expect(await stop(browser)).toMatchObject({ status: "NOT_IMPERSONATING" })
    expect(await currentUser(browser)).toBeNull()
    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
    expect(await db.session.count({ where: { userId: superadmin.id } })).toBe(0)
    expect(await rowCounts()).toEqual({ ...counts, sessions: counts.sessions - 1 })
  })
})

describe("ending without a Stop press", () => {
  it("returns to the admin at the next page request once the time limit has passed", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    await expireNow(started.impersonationId)

    const page = await browser.pageSession()
    expect(page.userId).toBe(support.id)
    // Handed back, but marked so that the impersonation's token is rotated at the next RPC.
    expect(page.$publicData).toEqual({
      userId: support.id,
      role: "SUPPORT",
      returnedFromImpersonation: true,
    })
    for (const field of IMPERSONATION_FIELDS) expect(page.$publicData).not.toHaveProperty(field)

    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endedAt).toBeInstanceOf(Date)
    expect(row).toMatchObject({ endReason: "EXPIRED", endedById: null })
    const session = await db.session.findUniqueOrThrow({ where: { handle: page.$handle! } })
    expect(session).toMatchObject({ userId: support.id, impersonationId: null })
    // The handed-back session cannot outlive a few minutes, even with page loads renewing it.
    const limit = Date.now() + RETURNED_SESSION_MAX_MS + 1000
    expect(session.expiresAt!.getTime()).toBeLessThanOrEqual(limit)
    const renewed = await browser.pageSession()
    expect(renewed.$handle).toBe(page.$handle)
    const afterPage = await db.session.findUniqueOrThrow({ where: { handle: page.$handle! } })
    expect(afterPage.expiresAt!.getTime()).toBeLessThanOrEqual(limit)

    const ended = await endedEvents(row.id)
    expect(ended).toHaveLength(1)
    expect(ended[0]).toMatchObject({ actorId: support.id, subjectId: target.id })
    expect(ended[0]?.details).toMatchObject({ endReason: "EXPIRED" })

    // The next RPC replaces the impersonation's token with a fresh admin session.
    const stolen = browser.clone()
    expect(await currentUser(browser)).toMatchObject({ id: support.id, impersonator: null })
    const rotated = await handleOf(browser)
    expect(rotated).not.toBe(page.$handle)
    expect(await db.session.findUnique({ where: { handle: page.$handle! } })).toBeNull()
    expect((await db.session.findUniqueOrThrow({ where: { handle: rotated } })).publicData).toBe(
      JSON.stringify({ userId: support.id, role: "SUPPORT" }),
    )
    expect(await currentUser(stolen)).toBeNull()
    expect(await endedEvents(row.id)).toHaveLength(1)
  })

  it("returns to the admin at the next RPC call once the time limit has passed", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    await expireNow(started.impersonationId)

    const me = await currentUser(browser)
    expect(me).toMatchObject({ id: support.id, role: "SUPPORT", impersonator: null, reason: null })
    expect(decodePublicDataCookie(browser.cookies.get(COOKIE.publicData))).toEqual({
      userId: support.id,
      role: "SUPPORT",
    })
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endReason).toBe("EXPIRED")
    const ended = await endedEvents(row.id)
    expect(ended).toHaveLength(1)
    expect(ended[0]?.details).toMatchObject({ endReason: "EXPIRED" })

    expect((await currentUser(browser))?.id).toBe(support.id)
    expect(await endedEvents(row.id)).toHaveLength(1)
  })

  it("ends an expired impersonation exactly once when requests arrive together, leaving one session", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    const handle = await handleOf(browser)
    await expireNow(started.impersonationId)
    const adminSessionsBefore = await db.session.count({ where: { userId: support.id } })

    const tabs = [browser, browser.clone(), browser.clone()]
    const [rpc1, page, rpc2] = await Promise.all([
      currentUser(tabs[0]!),
      tabs[1]!.pageSession(),
      currentUser(tabs[2]!),
    ])
    // Whichever RPC rotated the session answers as the admin; the other found it already gone.
    expect([rpc1?.id, rpc2?.id]).toContain(support.id)
    expect(page.userId === support.id || page.userId === null).toBe(true)

    const ended = await endedEvents(started.impersonationId)
    expect(ended).toHaveLength(1)
    expect(ended[0]?.details).toMatchObject({ endReason: "EXPIRED" })
    // The impersonation's handle is gone and exactly one fresh admin session replaced it.
    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
    expect(await db.session.count({ where: { userId: support.id } })).toBe(adminSessionsBefore + 1)
  })

  it("returns to the admin, without a new audit row, when someone else ended it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    await db.impersonation.update({
      where: { id: started.impersonationId },
      data: { endedAt: new Date(), endReason: "REPLACED" },
    })
    const auditBefore = await auditEventsFor([started.impersonationId])
    expect(auditBefore.map((e) => e.action)).toEqual(["IMPERSONATION_STARTED"])

    expect(await currentUser(browser)).toMatchObject({ id: support.id, impersonator: null })
    expect((await browser.pageSession()).userId).toBe(support.id)
    // The same rows (the sealer may have sealed them meanwhile: the ids say it).
    const ids = (events: typeof auditBefore) => events.map((e) => e.id)
    expect(ids(await auditEventsFor([started.impersonationId]))).toEqual(ids(auditBefore))
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endReason).toBe("REPLACED")
  })

  it("signs out when the admin loses the right to impersonate", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    const handle = await handleOf(browser)
    await db.user.update({ where: { id: support.id }, data: { role: "USER" } })

    expect(await currentUser(browser)).toBeNull()
    expect((await browser.pageSession()).userId).toBeNull()
    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endedAt).toBeInstanceOf(Date)
    expect(row.endReason).toBe("ACTOR_REVOKED")
    const ended = await endedEvents(row.id)
    expect(ended).toHaveLength(1)
    expect(ended[0]?.details).toMatchObject({ endReason: "ACTOR_REVOKED" })
  })

  it("signs out when the admin's account is disabled", async () => {
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(superadmin)
    const started = await impersonate(browser, target)
    await db.user.update({ where: { id: superadmin.id }, data: { status: "DISABLED" } })

    expect((await browser.pageSession()).userId).toBeNull()
    expect(await currentUser(browser)).toBeNull()
    expect(await db.session.count({ where: { userId: { in: [superadmin.id, target.id] } } })).toBe(
      0,
    )
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endReason).toBe("ACTOR_REVOKED")
    expect(await endedEvents(row.id)).toHaveLength(1)
  })

  it("returns to the admin when the target is disabled", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    await db.user.update({ where: { id: target.id }, data: { status: "DISABLED" } })

    expect(await currentUser(browser)).toMatchObject({ id: support.id, impersonator: null })
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endReason).toBe("TARGET_REVOKED")
    const ended = await endedEvents(row.id)
    expect(ended).toHaveLength(1)
    expect(ended[0]?.details).toMatchObject({ endReason: "TARGET_REVOKED" })
  })

  it("ends the impersonation as SIGNED_OUT on logout", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    const handle = await handleOf(browser)

    const res = await browser.rpc("logout", {})
    expect(res.error).toBeNull()
    expect(await currentUser(browser)).toBeNull()
    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endedAt).toBeInstanceOf(Date)
    expect(row).toMatchObject({ endReason: "SIGNED_OUT", endedById: support.id })
    const ended = await endedEvents(row.id)
    expect(ended).toHaveLength(1)
    expect(ended[0]?.details).toMatchObject({ endReason: "SIGNED_OUT" })
  })

  it("ends the impersonation on record when Blitz revokes the user's sessions ($revokeAll)", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)
    const handle = await handleOf(browser)

    // Sign the subject out everywhere, as an account-security action would.
    const session = await browser.pageSession()
    // eslint-disable-next-line no-restricted-syntax -- what Blitz itself does must still end the impersonation
    await session.$revokeAll()

    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row).toMatchObject({ endReason: "SIGNED_OUT", endedById: null })
    const ended = await endedEvents(row.id)
    expect(ended).toHaveLength(1)
    expect(ended[0]?.details).toMatchObject({ endReason: "SIGNED_OUT" })
  })

  it("ends the impersonation as SIGNED_OUT when someone signs in over it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target)

    await browser.login(target.email, PASSWORD)
    expect(await currentUser(browser)).toMatchObject({ id: target.id, impersonator: null })
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.impersonationId } })
    expect(row.endReason).toBe("SIGNED_OUT")
    expect(await endedEvents(row.id)).toHaveLength(1)
  })
})

describe("one active impersonation per admin", () => {
  it("replaces the previous one started in another browser", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const first = await createUser({ label: "u1" })
    const second = await createUser({ label: "u2" })
    const browserA = await signIn(support)
    const browserB = await signIn(support)

    const a = await impersonate(browserA, first, "first")
    const b = await impersonate(browserB, second, "second")

    const rowA = await db.impersonation.findUniqueOrThrow({ where: { id: a.impersonationId } })
    expect(rowA.endedAt).toBeInstanceOf(Date)
    expect(rowA).toMatchObject({ endReason: "REPLACED", endedById: support.id })
    const active = await db.impersonation.findMany({
      where: { actorId: support.id, endedAt: null },
    })
    expect(active.map((row) => row.id)).toEqual([b.impersonationId])

    const auditA = await auditEventsFor([a.impersonationId])
    expect(auditA.map((e) => [e.action, (e.details as { endReason?: string }).endReason])).toEqual([
      ["IMPERSONATION_STARTED", undefined],
      ["IMPERSONATION_ENDED", "REPLACED"],
    ])

    expect(await currentUser(browserA)).toMatchObject({ id: support.id, impersonator: null })
    expect(await auditEventsFor([a.impersonationId])).toHaveLength(2)
    expect(await currentUser(browserB)).toMatchObject({
      id: second.id,
      impersonator: { id: support.id },
    })

    // The database itself holds the line: a second active row for the same actor is refused.
    const now = new Date()
    const error = await db.impersonation
      .create({
        data: {
          actorId: support.id,
          subjectId: first.id,
          reason: "direct insert",
          startedAt: now,
          expiresAt: new Date(now.getTime() + TTL_MS),
        },
      })
      .then(
        () => null,
        (e: unknown) => e,
      )
    expect(error).not.toBeNull()
    expect(isUniqueViolation(error)).toBe(true)
    expect(await db.impersonation.count({ where: { actorId: support.id, endedAt: null } })).toBe(1)
  })

  it("keeps one active impersonation when the same admin starts two at once", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const first = await createUser({ label: "u1" })
    const second = await createUser({ label: "u2" })
    const browsers = [await signIn(support), await signIn(support)] as const

    const results = await Promise.all([
      browsers[0].rpc<Started>("impersonateUser", { userId: first.id, reason: "race 1" }),
      browsers[1].rpc<Started>("impersonateUser", { userId: second.id, reason: "race 2" }),
    ])

    const rows = await db.impersonation.findMany({ where: { actorId: support.id } })
    const active = rows.filter((row) => row.endedAt === null)
    expect(active).toHaveLength(1)
    for (const row of rows.filter((r) => r.endedAt !== null)) expect(row.endReason).toBe("REPLACED")
    for (const [i, res] of results.entries()) {
      const me = await currentUser(browsers[i]!)
      if (res.error) {
        // The loser of the race is told to try again and keeps its own session.
        expect(res.error.code).toBe("CONCURRENT_START")
        expect(me).toMatchObject({ id: support.id, impersonator: null })
      } else if (res.result!.impersonationId === active[0]!.id) {
        expect(me).toMatchObject({ id: res.result!.subject.id, impersonator: { id: support.id } })
      } else {
        expect(me).toMatchObject({ id: support.id, impersonator: null })
      }
    }
    expect(results.filter((res) => res.error === null).length).toBeGreaterThanOrEqual(1)
    const events = await auditEventsFor(rows.map((row) => row.id))
    expect(events.filter((e) => e.action === "IMPERSONATION_STARTED")).toHaveLength(rows.length)
    expect(events.filter((e) => e.action === "IMPERSONATION_ENDED")).toHaveLength(rows.length - 1)
  })
})

describe("audit log", () => {
  it("records exactly the start and end of each impersonation, chained and append-only", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)

    const first = await impersonate(browser, target, "first reason")
    expect(await stop(browser)).toEqual({ status: "RESTORED", userId: support.id })
    const second = await impersonate(browser, target, "second reason")
    await expireNow(second.impersonationId)
    expect((await currentUser(browser))?.id).toBe(support.id)

    const events = await auditEventsFor([first.impersonationId, second.impersonationId])
    const summary = events.map((e) => ({
      action: e.action,
      actorId: e.actorId,
      subjectId: e.subjectId,
      impersonationId: e.impersonationId,
      organizationId: e.organizationId,
      reason: (e.details as { reason?: string }).reason,
      endReason: (e.details as { endReason?: string }).endReason,
      mode: (e.details as { mode?: string }).mode,
      userAgent: e.userAgent,
    }))
    const common = {
      actorId: support.id,
      subjectId: target.id,
      organizationId: null,
      mode: "READ_ONLY",
    }
    const ua = { userAgent: "vitest-browser" }
    expect(summary).toEqual([
      {
        ...common,
        ...ua,
        action: "IMPERSONATION_STARTED",
        impersonationId: first.impersonationId,
        reason: "first reason",
        endReason: undefined,
      },
      {
        ...common,
        ...ua,
        action: "IMPERSONATION_ENDED",
        impersonationId: first.impersonationId,
        reason: "first reason",
        endReason: "STOPPED",
      },
      {
        ...common,
        ...ua,
        action: "IMPERSONATION_STARTED",
        impersonationId: second.impersonationId,
        reason: "second reason",
        endReason: undefined,
      },
      {
        ...common,
        ...ua,
        action: "IMPERSONATION_ENDED",
        impersonationId: second.impersonationId,
        reason: "second reason",
        endReason: "EXPIRED",
      },
    ])

    const firstRow = await db.impersonation.findUniqueOrThrow({
      where: { id: first.impersonationId },
    })
    expect(events[0]?.at.getTime()).toBe(firstRow.startedAt.getTime())
    expect(events[0]?.details).toMatchObject({
      grant: { kind: "PLATFORM", role: "SUPPORT" },
      expiresAt: firstRow.expiresAt.toISOString(),
    })
    expect(events[1]?.details).toMatchObject({
      endedById: support.id,
      endedAt: firstRow.endedAt?.toISOString(),
    })
    // An expiry noticed late is dated at the time limit (security review #1).
    const secondRow = await db.impersonation.findUniqueOrThrow({ where: { id: second.impersonationId } })
    expect(secondRow.endedAt?.getTime()).toBe(secondRow.expiresAt.getTime())
    expect(events[3]?.details).toMatchObject({
      endedById: null,
      endedAt: secondRow.expiresAt.toISOString(),
    })

    await sealPendingAuditEvents()
    const verdict = await verifyAuditChain()
    expect(verdict.ok).toBe(true)
    expect(verdict.events).toBeGreaterThanOrEqual(4)
    // As they stand once sealed (the sealer may have linked some after the first read).
    const sealed = await auditEventsFor([first.impersonationId, second.impersonationId])
    expect(sealed.every((e) => e.chainPosition !== null)).toBe(true)

    const victim = events[0]!
    expect(
      await dbFailure(
        db.$executeRaw`UPDATE "AuditEvent" SET "details" = '{}'::jsonb WHERE "id" = ${victim.id}`,
      ),
    ).toMatch(/append-only: UPDATE is not allowed/)
    expect(
      await dbFailure(db.$executeRaw`DELETE FROM "AuditEvent" WHERE "id" = ${victim.id}`),
    ).toMatch(/append-only: DELETE is not allowed/)
    expect(await dbFailure(db.$executeRaw`TRUNCATE "AuditEvent"`)).toMatch(
      /append-only: TRUNCATE is not allowed/,
    )
    expect(await auditEventsFor([first.impersonationId, second.impersonationId])).toEqual(sealed)
    expect((await verifyAuditChain()).ok).toBe(true)
  })
})

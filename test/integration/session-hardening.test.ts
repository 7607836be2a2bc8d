import { createRequire } from "node:module"
import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { HAND_BACK_WINDOW_MS } from "app/impersonation/policy"
import type { StopResult } from "app/impersonation/mutations/stopImpersonating"
import { GET, HEAD } from "app/api/rpc/[[...blitz]]/route"
import { COOKIE, TestBrowser } from "test/helpers/browser"
import { createOrganization, createUser } from "test/helpers/fixtures"
import { signIn, currentUser } from "test/helpers/session"

/**
 * Regression tests for the security review of the core (issue 5, findings 1, 2, 3 and 9):
 * each one reproduces what an attacker did with the real RPC route and real Blitz sessions.
 */

type Person = { id: number; email: string }
const MINUTE = 60_000

async function impersonate(browser: TestBrowser, target: Person) {
  const res = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
    userId: target.id,
    reason: "ticket #5",
  })
  expect(res.error).toBeNull()
  return res.result!.impersonationId
}

async function handleOf(browser: TestBrowser) {
  return (await browser.pageSession()).$handle
}

/** Moves an impersonation's time limit into the past, as if the cookie had lain unused. */
function expiredAgo(impersonationId: number, ms: number) {
  return db.impersonation.update({
    where: { id: impersonationId },
    data: { expiresAt: new Date(Date.now() - ms) },
  })
}

/** A SUPPORT admin impersonating a fresh plain user in their own browser. */
async function supportImpersonating() {
  const support = await createUser({ label: "support", role: "SUPPORT" })
  const target = await createUser({ label: "target" })
  const browser = await signIn(support)
  return { support, target, browser, id: await impersonate(browser, target) }
}

function endedEvents(impersonationId: number) {
  return db.auditEvent.findMany({ where: { impersonationId, action: "IMPERSONATION_ENDED" } })
}

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("finding 1: an old impersonation cookie is dead, never a fresh admin session", () => {
  it("signs out a cookie presented more than 5 minutes after the time limit, and dates the end at the limit", async () => {
    const { support, browser, id } = await supportImpersonating()
    const handle = await handleOf(browser)
    const { expiresAt } = await expiredAgo(id, HAND_BACK_WINDOW_MS + MINUTE)
    const replayed = browser.clone()

    expect((await browser.pageSession()).userId).toBeNull()
    expect(await currentUser(replayed)).toBeNull()
    expect(await db.session.findUnique({ where: { handle: handle! } })).toBeNull()
    expect(await db.session.count({ where: { userId: support.id } })).toBe(0)
    const row = await db.impersonation.findUniqueOrThrow({ where: { id } })
    expect(row).toMatchObject({ endReason: "EXPIRED", endedById: null })
    expect(row.endedAt?.getTime()).toBe(expiresAt.getTime())
    expect(await endedEvents(id)).toHaveLength(1)
  })

  it("within the window, hands back a session that dies 5 minutes after the limit, not after the request", async () => {
    const { support, browser, id } = await supportImpersonating()
    const { expiresAt } = await expiredAgo(id, 4 * MINUTE)

    const page = await browser.pageSession()
    expect(page.userId).toBe(support.id)
    const session = await db.session.findUniqueOrThrow({ where: { handle: page.$handle! } })
    expect(session.expiresAt!.getTime()).toBe(expiresAt.getTime() + HAND_BACK_WINDOW_MS)
  })

  it("signs out a cookie of an impersonation someone else ended more than 5 minutes ago", async () => {
    const { support, browser, id } = await supportImpersonating()
    await db.impersonation.update({
      where: { id },
      data: { endedAt: new Date(Date.now() - HAND_BACK_WINDOW_MS - MINUTE), endReason: "REPLACED" },
    })
    expect(await currentUser(browser)).toBeNull()
    expect(await db.session.count({ where: { userId: support.id } })).toBe(0)
  })

  it("never revives a handed-back session past its own expiry", async () => {
    const { support, browser, id } = await supportImpersonating()
    await expiredAgo(id, MINUTE)
    const page = await browser.pageSession()
    expect(page.userId).toBe(support.id)
    await db.session.update({
      where: { handle: page.$handle! },
      data: { expiresAt: new Date(Date.now() - 1000) },
    })

    expect(await currentUser(browser.clone())).toBeNull()
    expect((await browser.pageSession()).userId).toBeNull()
    expect(await db.session.findUnique({ where: { handle: page.$handle! } })).toBeNull()
  })

  it("an impersonation session's row ends with the hand-back window and RPCs do not extend it", async () => {
    const { target, browser, id } = await supportImpersonating()
    const handle = (await handleOf(browser))!
    const { expiresAt } = await db.impersonation.findUniqueOrThrow({ where: { id } })
    const deadline = expiresAt.getTime() + HAND_BACK_WINDOW_MS
    expect((await db.session.findUniqueOrThrow({ where: { handle } })).expiresAt!.getTime()).toBe(deadline)
    expect((await currentUser(browser))?.id).toBe(target.id)
    expect((await db.session.findUniqueOrThrow({ where: { handle } })).expiresAt!.getTime()).toBe(deadline)
  })

  it("sign-out everywhere ends the admin's live impersonations and kills their sessions", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const own = await signIn(support)
    const impersonating = await signIn(support)
    const id = await impersonate(impersonating, target)
    const handle = (await handleOf(impersonating))!

    const res = await own.rpc<{ signedOut: boolean }>("signOutEverywhere", {})
    expect(res.error).toBeNull()
    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
    const row = await db.impersonation.findUniqueOrThrow({ where: { id } })
    expect(row).toMatchObject({ endReason: "SIGNED_OUT", endedById: support.id })
    expect(await endedEvents(id)).toHaveLength(1)
    const signOut = await db.auditEvent.findFirst({
      where: { actorId: support.id, action: "SIGNED_OUT" },
      orderBy: { id: "desc" },
    })
    expect(signOut?.details).toMatchObject({ everywhere: true, sessions: 2 })

    // Stop in the impersonating browser no longer reaches the admin.
    const stop = await impersonating.rpc<StopResult>("stopImpersonating", {})
    expect(stop.result).toMatchObject({ status: "NOT_IMPERSONATING" })
    expect(await currentUser(impersonating)).toBeNull()
    expect(await currentUser(own)).toBeNull()
    expect(await db.session.count({ where: { userId: support.id } })).toBe(0)
  })

  it("sign-out everywhere also kills a session already handed back to the admin", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const own = await signIn(support)
    const impersonating = await signIn(support)
    const id = await impersonate(impersonating, target)
    await expiredAgo(id, MINUTE)
    expect((await impersonating.pageSession()).userId).toBe(support.id)

    expect((await own.rpc("signOutEverywhere", {})).error).toBeNull()
    expect(await currentUser(impersonating)).toBeNull()
  })

  it("refuses sign-out everywhere while impersonating and changes nothing", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const targetBrowser = await signIn(target)
    const browser = await signIn(support)
    await impersonate(browser, target)

    // Read-only: the RPC route's gate refuses it (in read-write the resolver itself refuses).
    const res = await browser.rpc("signOutEverywhere", {})
    expect(res.error?.code).toBe("IMPERSONATION_READ_ONLY")
    expect((await currentUser(targetBrowser))?.id).toBe(target.id)
    expect((await currentUser(browser))?.impersonator?.id).toBe(support.id)
  })
})

describe("finding 2: no escalation through a second shared organization", () => {
  it("refuses an ADMIN of Acme the OWNER of Acme who is only a MEMBER of Side", async () => {
    const acme = await createOrganization("acme")
    const side = await createOrganization("side")
    const adam = await createUser({ label: "adam", organization: { id: acme.id, role: "ADMIN" } })
    const olive = await createUser({ label: "olive", organization: { id: acme.id, role: "OWNER" } })
    await db.membership.createMany({
      data: [
        { organizationId: side.id, userId: adam.id, role: "ADMIN" },
        { organizationId: side.id, userId: olive.id, role: "MEMBER" },
      ],
    })
    const browser = await signIn(adam)
    const res = await browser.rpc("impersonateUser", { userId: olive.id, reason: "escalate" })
    expect(res.error?.code).toBe("ORG_ROLE_NOT_LOWER")
    expect(await db.impersonation.count({ where: { actorId: adam.id } })).toBe(0)
    expect((await currentUser(browser))?.id).toBe(adam.id)
  })

  it("ends a running impersonation once the member joins an organization where the admin does not outrank them", async () => {
    const acme = await createOrganization("acme")
    const other = await createOrganization("other")
    const adam = await createUser({ label: "adam", organization: { id: acme.id, role: "ADMIN" } })
    const mia = await createUser({ label: "mia", organization: { id: acme.id, role: "MEMBER" } })
    const browser = await signIn(adam)
    const id = await impersonate(browser, mia)
    await db.membership.create({ data: { organizationId: other.id, userId: mia.id, role: "OWNER" } })

    expect((await currentUser(browser))?.impersonator).toBeNull()
    expect(await db.impersonation.findUniqueOrThrow({ where: { id } })).toMatchObject({
      endReason: "ACTOR_REVOKED",
    })
  })
})

describe("finding 3: hand-backs re-checked, rotated on POST only, disabled users signed out", () => {
  it("a handed-back session is not rotated on GET or HEAD, and a POST without the anti-CSRF header is refused", async () => {
    const { browser, id } = await supportImpersonating()
    await expiredAgo(id, MINUTE)
    const first = await browser.pageSession()
    const second = await browser.pageSession()
    expect(second.$handle).toBe(first.$handle)
    expect(second.$publicData).toMatchObject({ returnedFromImpersonation: true })
    for (const [method, handler] of [["GET", GET], ["HEAD", HEAD]] as const) {
      const request = new Request("http://localhost/api/rpc/getCurrentUser?params=null", {
        method,
        headers: { cookie: browser.cookieHeader() },
      })
      await handler(request, { params: Promise.resolve({ blitz: ["getCurrentUser"] }) })
    }
    expect((await browser.pageSession()).$handle).toBe(first.$handle)

    const forged = await browser.rpc("getCurrentUser", null, { csrf: false })
    expect(forged.status).toBe(403)
    expect(await db.session.findUnique({ where: { handle: first.$handle! } })).not.toBeNull()
  })

  it("rotation re-checks the admin: demoted meanwhile, the browser is signed out", async () => {
    const { support, browser, id } = await supportImpersonating()
    await expiredAgo(id, MINUTE)
    const page = await browser.pageSession()
    expect(page.userId).toBe(support.id)
    await db.user.update({ where: { id: support.id }, data: { role: "USER" } })

    expect(await currentUser(browser)).toBeNull()
    expect(await db.session.count({ where: { userId: support.id } })).toBe(0)
  })

  it("concurrent RPCs on a handed-back session leave exactly one new session", async () => {
    const { support, browser, id } = await supportImpersonating()
    await expiredAgo(id, MINUTE)
    expect((await browser.pageSession()).userId).toBe(support.id)

    const tabs = Array.from({ length: 5 }, () => browser.clone())
    const answers = await Promise.all(tabs.map((tab) => currentUser(tab)))
    expect(answers.filter((me) => me?.id === support.id).length).toBeGreaterThanOrEqual(1)
    expect(await db.session.count({ where: { userId: support.id } })).toBe(1)
  })

  it("signs out an ordinary session at the next request once its user is disabled", async () => {
    const person = await createUser({ label: "person" })
    const browser = await signIn(person)
    const handle = (await handleOf(browser))!
    await db.user.update({ where: { id: person.id }, data: { status: "DISABLED" } })

    expect((await browser.pageSession()).userId).toBeNull()
    expect(await currentUser(browser.clone())).toBeNull()
    expect(await db.session.findUnique({ where: { handle } })).toBeNull()
  })
})

describe("one admin session starts at most one impersonation", () => {
  it("five concurrent starts from the same session: one wins, the others are refused and changed nothing", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const targets = await Promise.all([1, 2, 3, 4, 5].map((n) => createUser({ label: `t${n}` })))
    const browser = await signIn(support)
    const tabs = targets.map(() => browser.clone())

    const results = await Promise.all(
      targets.map((target, i) => tabs[i]!.rpc("impersonateUser", { userId: target.id, reason: "race" })),
    )
    expect(results.filter((res) => res.error === null)).toHaveLength(1)
    for (const res of results.filter((r) => r.error)) expect(res.error?.code).toBe("CONCURRENT_START")
    const rows = await db.impersonation.findMany({ where: { actorId: support.id } })
    expect(rows).toHaveLength(1)
    expect(rows[0]?.endedAt).toBeNull()
    // No admin session is left over: the one there was became the impersonation.
    expect(await db.session.count({ where: { userId: support.id } })).toBe(0)
    expect(await db.session.count({ where: { impersonation: { actorId: support.id } } })).toBe(1)
  })
})

describe("finding 9: the actor comes from the server's session row", () => {
  it("refuses a forged anonymous session token that claims a superadmin's user id", async () => {
    const superadmin = await createUser({ label: "superadmin", role: "SUPERADMIN" })
    const target = await createUser({ label: "target" })
    const require = createRequire(import.meta.url)
    const jwt = require("jsonwebtoken") as {
      sign(payload: object, key: string, options: Record<string, string>): string
    }
    // Whoever knows or leaks the signing key can mint anonymous tokens with any public data.
    const token = jwt.sign(
      {
        blitzjs: {
          isAnonymous: true,
          handle: "forged:anonymous",
          publicData: { userId: superadmin.id, role: "SUPERADMIN" },
          antiCSRFToken: "forged-csrf",
        },
      },
      process.env.SESSION_SECRET_KEY || "default-dev-secret",
      { algorithm: "HS256", issuer: "blitzjs", audience: "blitzjs", subject: "anonymous" },
    )
    const browser = new TestBrowser()
    browser.cookies.set(COOKIE.anonymous, token)
    browser.cookies.set(COOKIE.antiCsrf, "forged-csrf")

    const res = await browser.rpc("impersonateUser", { userId: target.id, reason: "forged" })
    expect(res.error?.name).toBe("AuthenticationError")
    expect(await db.impersonation.count({ where: { subjectId: target.id } })).toBe(0)
  })

  it("signs out an impersonation session whose row names another user than the impersonation's subject", async () => {
    const { support, browser } = await supportImpersonating()
    const other = await createUser({ label: "other" })
    const handle = (await handleOf(browser))!
    // The guard reads the subject as the session's user: a row pointing elsewhere (written behind
    // the app's back) must not act as that user, nor as the impersonation's subject.
    await db.session.update({ where: { handle }, data: { userId: other.id } })
    expect(await currentUser(browser)).toBeNull()
    expect(await db.session.count({ where: { handle } })).toBe(0)
    // Nobody was handed anything: the admin has no new session from it either.
    expect(await db.session.count({ where: { userId: support.id } })).toBe(0)
  })
})

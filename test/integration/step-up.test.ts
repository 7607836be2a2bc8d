import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { listHeldMessages, parseOutboxCursor } from "app/admin/outbox/heldMessages"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import { REFUSAL_MESSAGES, STEP_UP_WRONG_PASSWORD } from "app/impersonation/policy"
import { sendEmail } from "mailers/outbox"
import { runInDbScope } from "db/scope"
import { callApi, type ApiResponse } from "test/helpers/actorTokenApi"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createOrganization, createUser, rowCounts } from "test/helpers/fixtures"
import { currentUser, signIn, stop } from "test/helpers/session"

/**
 * Issue 7, item 2: read-write only after the step-up (the admin's own password, checked on
 * the server and counted in the sign-in throttle), the mode on the row, in the audit and in
 * getCurrentUser; actor tokens carry the mode; and the admin's outbox of held emails.
 */

type Person = { id: number; email: string }
type Started = { impersonationId: number; expiresAt: Date; mode: string; subject: Person }
type Created = { id: number; token: string; url: string; expiresAt: string; mode: string }
type Redeemed = { impersonationId: number; mode: string; user: Person; actor: Person }

const WRONG = "not-my-password-1"

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

function impersonate(browser: TestBrowser, target: Person, extra: Record<string, unknown> = {}) {
  return browser.rpc<Started>("impersonateUser", { userId: target.id, reason: "Ticket 9: step-up", ...extra })
}

/** The browser's session as the server holds it: who, which handle, which impersonation. */
async function sessionState(browser: TestBrowser) {
  const page = await browser.pageSession()
  const row = page.$handle ? await db.session.findUnique({ where: { handle: page.$handle } }) : null
  return { handle: page.$handle, userId: page.userId, impersonationId: row?.impersonationId ?? null }
}

function refusalsOf(actorId: number, action: "IMPERSONATION_REFUSED" | "ACTOR_TOKEN_REFUSED" = "IMPERSONATION_REFUSED") {
  return db.auditEvent.findMany({ where: { actorId, action }, orderBy: { id: "asc" } })
}

/** A refused read-write start: the answer, nothing started, the session untouched, one audit row. */
async function expectStepUpRefused(
  browser: TestBrowser,
  admin: Person,
  target: Person,
  extra: Record<string, unknown>,
  expected: { stepUp: "MISSING" | "WRONG"; message: string },
) {
  const counts = await rowCounts()
  const session = await sessionState(browser)
  const refusalsBefore = (await refusalsOf(admin.id)).length
  const res = await impersonate(browser, target, extra)
  expect(res.result).toBeNull()
  expect(res.error).toMatchObject({
    name: "ImpersonationRefusedError",
    code: "STEP_UP_REQUIRED",
    statusCode: 403,
    message: expected.message,
  })
  expect(await db.impersonation.count({ where: { actorId: admin.id } })).toBe(0)
  expect(await sessionState(browser)).toEqual(session)
  expect((await currentUser(browser))?.id).toBe(admin.id)
  const { auditEvents, ...others } = await rowCounts()
  const { auditEvents: auditBefore, ...othersBefore } = counts
  expect(others).toEqual(othersBefore)
  expect(auditEvents).toBe(auditBefore + 1)
  const refusals = await refusalsOf(admin.id)
  expect(refusals).toHaveLength(refusalsBefore + 1)
  const audited = refusals.at(-1)!
  expect(audited).toMatchObject({ subjectId: target.id, impersonationId: null })
  expect(audited.details).toEqual({
    code: "STEP_UP_REQUIRED",
    reason: "Ticket 9: step-up",
    requested: { userId: target.id },
    ticketUrl: null,
    mode: "READ_WRITE",
    stepUp: expected.stepUp,
  })
  return audited
}

describe("read-write needs the step-up", () => {
  it("starts read-only by default, and says so on the row, in the audit and in getCurrentUser", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const res = await impersonate(browser, target)
    expect(res.error).toBeNull()
    expect(res.result?.mode).toBe("READ_ONLY")
    const id = res.result!.impersonationId
    expect((await db.impersonation.findUniqueOrThrow({ where: { id } })).mode).toBe("READ_ONLY")
    expect(await currentUser(browser)).toMatchObject({ id: target.id, mode: "READ_ONLY" })
    const started = await db.auditEvent.findFirstOrThrow({ where: { impersonationId: id, action: "IMPERSONATION_STARTED" } })
    expect(started.details).toMatchObject({ mode: "READ_ONLY" })
    // A password sent with read-only is not looked at: the wrong one neither refuses nor counts.
    await stop(browser)
    const again = await impersonate(browser, target, { mode: "READ_ONLY", password: WRONG })
    expect(again.error).toBeNull()
    expect(again.result?.mode).toBe("READ_ONLY")
    expect(await db.loginThrottle.count({ where: { key: { contains: support.email } } })).toBe(0)
  })

  it("refuses read-write without a password, audited as MISSING, and starts nothing", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const message = REFUSAL_MESSAGES.STEP_UP_REQUIRED
    await expectStepUpRefused(browser, support, target, { mode: "READ_WRITE" }, { stepUp: "MISSING", message })
    // An empty field is no password either.
    await expectStepUpRefused(browser, support, target, { mode: "READ_WRITE", password: "" }, { stepUp: "MISSING", message })
    // Neither is a guess: nothing counted in the throttle.
    expect(await db.loginThrottle.count({ where: { key: { contains: support.email } } })).toBe(0)
  })

  it("refuses a wrong password, audited as WRONG without the password anywhere, and counts it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const password = `${WRONG}-unique-Zq81`
    const audited = await expectStepUpRefused(
      browser,
      support,
      target,
      { mode: "READ_WRITE", password },
      { stepUp: "WRONG", message: STEP_UP_WRONG_PASSWORD },
    )
    expect(JSON.stringify(audited)).not.toContain(password)
    const everything = await db.auditEvent.findMany({ where: { OR: [{ actorId: support.id }, { subjectId: support.id }] } })
    expect(JSON.stringify(everything)).not.toContain(password)
    // Counted against the keys a sign-in as the admin from this browser counts against.
    const throttle = await db.loginThrottle.findMany({ where: { key: { contains: support.email } } })
    expect(throttle.map((row) => row.failures)).toEqual([1])
  })

  it("locks after enough wrong passwords: then even the right one is refused, unchecked, until the lock ends", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    for (let i = 0; i < 5; i++) {
      const res = await impersonate(browser, target, { mode: "READ_WRITE", password: `${WRONG}-${i}` })
      expect(res.error).toMatchObject({ code: "STEP_UP_REQUIRED", message: STEP_UP_WRONG_PASSWORD })
    }
    const locked = await impersonate(browser, target, { mode: "READ_WRITE", password: PASSWORD })
    expect(locked.result).toBeNull()
    expect(locked.error).toMatchObject({ name: "ImpersonationRefusedError", code: "STEP_UP_THROTTLED", statusCode: 429 })
    expect(locked.error?.message).toMatch(/^Too many wrong passwords\. Try read-write again in 1 minute, or start read-only\.$/)
    // Refused again while locked: audited once per lock, never counted further.
    const lockedAgain = await impersonate(browser, target, { mode: "READ_WRITE", password: WRONG })
    expect(lockedAgain.error).toMatchObject({ code: "STEP_UP_THROTTLED" })
    const refusals = await refusalsOf(support.id)
    expect(refusals.map((e) => (e.details as { code: string }).code)).toEqual([
      ...Array(5).fill("STEP_UP_REQUIRED"),
      "STEP_UP_THROTTLED",
    ])
    expect(refusals.at(-1)!.details).toEqual({
      code: "STEP_UP_THROTTLED",
      reason: "Ticket 9: step-up",
      requested: { userId: target.id },
      ticketUrl: null,
      mode: "READ_WRITE",
    })
    const [row] = await db.loginThrottle.findMany({ where: { key: { contains: support.email } } })
    expect(row?.failures).toBe(5)
    expect(row?.lockedUntil?.getTime()).toBeGreaterThan(Date.now())
    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(0)
    // The lock is on sign-in too: the step-up is not a way around it.
    const signInAttempt = await browser.clone().rpc("login", { email: support.email, password: PASSWORD })
    expect(signInAttempt.error).toMatchObject({ name: "SignInThrottledError", statusCode: 429 })
    // Read-only still starts while locked.
    const readOnly = await impersonate(browser, target)
    expect(readOnly.error).toBeNull()
    await stop(browser)

    // Once the lock has passed, the right password starts read-write and forgets the failures.
    await db.loginThrottle.update({ where: { key: row!.key }, data: { lockedUntil: new Date(Date.now() - 1) } })
    const res = await impersonate(browser, target, { mode: "READ_WRITE", password: PASSWORD })
    expect(res.error).toBeNull()
    expect(res.result?.mode).toBe("READ_WRITE")
    expect(await db.loginThrottle.findUnique({ where: { key: row!.key } })).toBeNull()
  })

  it("starts read-write with the right password: on the row, in IMPERSONATION_STARTED and in getCurrentUser", async () => {
    const org = await createOrganization("step-up")
    const owner = await createUser({ label: "owner", organization: { id: org.id, role: "OWNER" } })
    const member = await createUser({ label: "member", organization: { id: org.id, role: "MEMBER" } })
    const browser = await signIn(owner)
    const res = await impersonate(browser, member, { mode: "READ_WRITE", password: PASSWORD })
    expect(res.error).toBeNull()
    expect(res.result).toMatchObject({ mode: "READ_WRITE", subject: { id: member.id } })
    const id = res.result!.impersonationId
    expect(await db.impersonation.findUniqueOrThrow({ where: { id } })).toMatchObject({
      actorId: owner.id,
      subjectId: member.id,
      organizationId: org.id,
      mode: "READ_WRITE",
    })
    expect(await currentUser(browser)).toMatchObject({
      id: member.id,
      impersonator: { id: owner.id },
      mode: "READ_WRITE",
    })
    const started = await db.auditEvent.findFirstOrThrow({ where: { impersonationId: id, action: "IMPERSONATION_STARTED" } })
    expect(started.details).toMatchObject({ mode: "READ_WRITE", reason: "Ticket 9: step-up" })
    expect(JSON.stringify(started)).not.toContain(PASSWORD)
    // No refusal on record for it; back to the admin, the mode is gone.
    expect(await refusalsOf(owner.id)).toHaveLength(0)
    await stop(browser)
    expect(await currentUser(browser)).toMatchObject({ id: owner.id, mode: null })
  })

  it("asks every other rule first: an impossible start is refused for that, and never checks a password", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const optedOut = await createUser({ label: "opted-out", impersonationConsent: "NEVER" })
    const browser = await signIn(support)
    const res = await impersonate(browser, optedOut, { mode: "READ_WRITE", password: WRONG })
    expect(res.error).toMatchObject({ code: "TARGET_OPTED_OUT" })
    const [refusal] = await refusalsOf(support.id)
    expect(refusal!.details).toEqual({
      code: "TARGET_OPTED_OUT",
      reason: "Ticket 9: step-up",
      requested: { userId: optedOut.id },
      ticketUrl: null,
      mode: "READ_WRITE",
    })
    expect(await db.loginThrottle.count({ where: { key: { contains: support.email } } })).toBe(0)
  })

  it("refuses a mode that does not exist as bad input", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const counts = await rowCounts()
    const res = await impersonate(browser, target, { mode: "GOD_MODE", password: PASSWORD })
    expect(res.error).toMatchObject({ name: "InputValidationError", statusCode: 400 })
    expect(res.error?.message).toMatch(/mode/)
    expect(await rowCounts()).toEqual(counts)
  })
})

describe("actor tokens carry the mode", () => {
  function create(browser: TestBrowser, target: Person, extra: Record<string, unknown>) {
    return callApi<Created>(browser, "POST", "/api/actor-tokens", {
      json: { userId: target.id, reason: "Ticket 9: token", ...extra },
    })
  }

  it("creates a read-write token only with the admin's password, and redeems it into read-write", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)

    const missing = await create(browser, target, { mode: "READ_WRITE" })
    expectRefusedApi(missing, 403, "STEP_UP_REQUIRED", REFUSAL_MESSAGES.STEP_UP_REQUIRED)
    const wrong = await create(browser, target, { mode: "READ_WRITE", password: WRONG })
    expectRefusedApi(wrong, 403, "STEP_UP_REQUIRED", STEP_UP_WRONG_PASSWORD)
    expect(await db.actorToken.count({ where: { actorId: support.id } })).toBe(0)
    const refusals = await refusalsOf(support.id, "ACTOR_TOKEN_REFUSED")
    expect(refusals.map((e) => e.details)).toEqual([
      expect.objectContaining({ code: "STEP_UP_REQUIRED", stage: "CREATE", mode: "READ_WRITE", stepUp: "MISSING" }),
      expect.objectContaining({ code: "STEP_UP_REQUIRED", stage: "CREATE", mode: "READ_WRITE", stepUp: "WRONG" }),
    ])
    expect(JSON.stringify(refusals)).not.toContain(WRONG)

    const created = await create(browser, target, { mode: "READ_WRITE", password: PASSWORD })
    expect(created.status).toBe(201)
    expect(created.body.mode).toBe("READ_WRITE")
    expect((await db.actorToken.findUniqueOrThrow({ where: { id: created.body.id } })).mode).toBe("READ_WRITE")
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: "ACTOR_TOKEN_CREATED", actorId: support.id } })
    expect(audit.details).toMatchObject({ actorTokenId: created.body.id, mode: "READ_WRITE" })
    expect(JSON.stringify(audit)).not.toContain(PASSWORD)

    // Redeemed where no one is signed in: the impersonation is read-write, with no password asked there.
    const elsewhere = new TestBrowser()
    const redeemed = await callApi<Redeemed>(elsewhere, "POST", "/api/actor-tokens/redeem", { json: { token: created.body.token } })
    expect(redeemed.status).toBe(200)
    expect(redeemed.body.mode).toBe("READ_WRITE")
    expect((await db.impersonation.findUniqueOrThrow({ where: { id: redeemed.body.impersonationId } })).mode).toBe("READ_WRITE")
    expect(await currentUser(elsewhere)).toMatchObject({ id: target.id, mode: "READ_WRITE" })
    const started = await db.auditEvent.findFirstOrThrow({
      where: { impersonationId: redeemed.body.impersonationId, action: "IMPERSONATION_STARTED" },
    })
    expect(started.details).toMatchObject({ mode: "READ_WRITE", actorTokenId: created.body.id })
  })

  it("creates read-only tokens by default, through the API and the RPC, and they redeem read-only", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const byApi = await create(browser, target, {})
    expect(byApi.body.mode).toBe("READ_ONLY")
    const host = { headers: { host: "support.example.test" } }
    const byRpc = await browser.rpc<Created>("createActorToken", { userId: target.id, reason: "Ticket 9: rpc" }, host)
    expect(byRpc.error).toBeNull()
    expect(byRpc.result?.mode).toBe("READ_ONLY")
    const rw = await browser.rpc<Created>("createActorToken", { userId: target.id, reason: "Ticket 9: rpc", mode: "READ_WRITE" }, host)
    expect(rw.error).toMatchObject({ code: "STEP_UP_REQUIRED" })
    const listed = await callApi<{ tokens: Array<{ id: number; mode: string }> }>(browser, "GET", "/api/actor-tokens")
    expect(listed.body.tokens.map((t) => [t.id, t.mode])).toEqual([
      [byRpc.result!.id, "READ_ONLY"],
      [byApi.body.id, "READ_ONLY"],
    ])
    const redeemed = await browser.rpc<Redeemed>("redeemActorToken", { token: byRpc.result!.token })
    expect(redeemed.error).toBeNull()
    expect(redeemed.result?.mode).toBe("READ_ONLY")
    expect(await currentUser(browser)).toMatchObject({ id: target.id, mode: "READ_ONLY" })
  })

  it("answers 429 while the admin's throttle is locked", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    for (let i = 0; i < 5; i++) {
      expectRefusedApi(await create(browser, target, { mode: "READ_WRITE", password: `${WRONG}-${i}` }), 403, "STEP_UP_REQUIRED")
    }
    const locked = await create(browser, target, { mode: "READ_WRITE", password: PASSWORD })
    expectRefusedApi(locked, 429, "STEP_UP_THROTTLED", /^Too many wrong passwords/)
    expect(await db.actorToken.count({ where: { actorId: support.id } })).toBe(0)
  })
})

function expectRefusedApi(res: ApiResponse, status: number, code: string, message?: string | RegExp) {
  expect({ status: res.status, code: res.body.error?.code }).toEqual({ status, code })
  if (typeof message === "string") expect(res.body.error?.message).toBe(message)
  else if (message) expect(res.body.error?.message).toMatch(message)
}

describe("the admin's outbox", () => {
  async function held(actor: Person, subject: Person, impersonationId: number, subjectLine: string) {
    return runInDbScope({ impersonation: { id: impersonationId, actorId: actor.id, subjectId: subject.id, mode: "READ_WRITE" } }, () =>
      sendEmail({ to: `friend-${impersonationId}@fixture.example`, subject: subjectLine, text: `Hello,\n\n${subjectLine}\n` }),
    )
  }

  async function policyUser(user: Person) {
    return toPolicyUser(await db.user.findUniqueOrThrow({ where: { id: user.id }, ...userForPolicy }))
  }

  it("lists the viewer's held messages only, newest first and paged; a superadmin sees every admin's", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const otherSupport = await createUser({ label: "support2", role: "SUPPORT" })
    const superadmin = await createUser({ label: "sa", role: "SUPERADMIN" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await impersonate(browser, target, { mode: "READ_WRITE", password: PASSWORD })
    const impersonationId = started.result!.impersonationId
    await stop(browser)
    const otherBrowser = await signIn(otherSupport)
    const otherId = (await impersonate(otherBrowser, target)).result!.impersonationId

    const mine = []
    for (let i = 0; i < 3; i++) mine.push(await held(support, target, impersonationId, `Project shared ${i}`))
    const theirs = await held(otherSupport, target, otherId, "Project shared by the other admin")
    expect([...mine, theirs].every((m) => m.status === "HELD")).toBe(true)
    // Delivered mail (outside an impersonation) is no held message, even with the same admin around.
    await db.outboxMessage.create({
      data: { status: "SENT", to: "x@fixture.example", subject: "sent", text: "sent", actorId: support.id, sentAt: new Date() },
    })

    const page = await listHeldMessages(await policyUser(support))
    expect(page.messages.map((m) => m.id)).toEqual(mine.map((m) => m.id).reverse())
    expect(page.olderThan).toBeNull()
    expect(page.messages[0]).toMatchObject({
      impersonationId,
      to: `friend-${impersonationId}@fixture.example`,
      subject: "Project shared 2",
      text: "Hello,\n\nProject shared 2\n",
      user: { id: target.id, email: target.email, name: target.name },
      admin: { id: support.id },
    })

    // Keyset pages of two: the newest two, then the rest, each once.
    const first = await listHeldMessages(await policyUser(support), {}, 2)
    expect(first.messages.map((m) => m.id)).toEqual([mine[2]!.id, mine[1]!.id])
    expect(first.olderThan).toBe(mine[1]!.id)
    const second = await listHeldMessages(await policyUser(support), { before: first.olderThan! }, 2)
    expect(second.messages.map((m) => m.id)).toEqual([mine[0]!.id])
    expect(second.olderThan).toBeNull()

    const others = await listHeldMessages(await policyUser(otherSupport))
    expect(others.messages.map((m) => m.id)).toEqual([theirs.id])

    const all = (await listHeldMessages(await policyUser(superadmin), {}, 1000)).messages.map((m) => m.id)
    expect(all).toEqual(expect.arrayContaining([...mine.map((m) => m.id), theirs.id]))
    expect(all).toEqual([...all].sort((a, b) => b - a))
    // Held ones only (the SENT row is not among them), whoever's they are.
    const statuses = await db.outboxMessage.findMany({ where: { id: { in: all } }, select: { status: true } })
    expect(new Set(statuses.map((row) => row.status))).toEqual(new Set(["HELD"]))

    // Nothing in listing it sends anything.
    expect(await db.outboxMessage.count({ where: { id: { in: mine.map((m) => m.id) }, status: "HELD" } })).toBe(3)
  })

  it("reads the page cursor strictly", () => {
    expect(parseOutboxCursor(undefined)).toBeUndefined()
    expect(parseOutboxCursor("")).toBeUndefined()
    expect(parseOutboxCursor("42")).toBe(42)
    for (const bad of ["0", "-1", "1.5", "abc", "99999999999", ["1", "2"]]) expect(parseOutboxCursor(bad)).toBeNull()
  })
})

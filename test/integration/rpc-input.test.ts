import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { MAX_RPC_BODY_BYTES } from "app/core/rpcRoute"
import { REASON_MAX_LENGTH } from "app/impersonation/schemas"
import { COOKIE, TestBrowser } from "test/helpers/browser"
import { PASSWORD, createUser, rowCounts, uniqueTag } from "test/helpers/fixtures"
import { signIn } from "test/helpers/session"

async function whoAmI(browser: TestBrowser) {
  const res = await browser.rpc<{ id: number; impersonator: { id: number } | null }>(
    "getCurrentUser",
  )
  expect(res.error).toBeNull()
  return res.result
}

async function sessionSnapshot(browser: TestBrowser) {
  const page = await browser.pageSession()
  const row = page.$handle ? await db.session.findUnique({ where: { handle: page.$handle } }) : null
  return { handle: page.$handle, userId: page.userId, publicData: row?.publicData ?? null }
}

// Opening (and migrating) the database is slow on PGlite: do it in a hook, not in the first test.
beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("anti-CSRF: every mutation needs the header", () => {
  async function expectCsrfRefused(browser: TestBrowser, name: string, params: unknown) {
    const counts = await rowCounts()
    const session = await sessionSnapshot(browser)
    const res = await browser.rpc(name, params, { csrf: false })
    expect(res.status).toBe(403)
    expect(res.raw.headers.get("content-type")).toMatch(/json/)
    expect(res.result).toBeNull()
    expect(res.error?.name).toBe("CSRFTokenMismatchError")
    expect(res.error?.message).toMatch(/anti-CSRF token/)
    expect(await rowCounts()).toEqual(counts)
    expect(await sessionSnapshot(browser)).toEqual(session)
  }

  it("refuses login, logout, signup and impersonateUser without it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)

    await expectCsrfRefused(browser, "login", { email: target.email, password: PASSWORD })
    const email = `${uniqueTag("csrf-signup")}@fixture.example`
    await expectCsrfRefused(browser, "signup", {
      name: "Mallory",
      email,
      password: "long-enough-password",
    })
    expect(await db.user.findUnique({ where: { email } })).toBeNull()
    await expectCsrfRefused(browser, "impersonateUser", { userId: target.id, reason: "csrf" })
    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(0)
    await expectCsrfRefused(browser, "logout", {})

    expect((await whoAmI(browser))?.id).toBe(support.id)
  })

  it("refuses stopImpersonating without it", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
      userId: target.id,
      reason: "csrf stop",
    })
    expect(started.error).toBeNull()

    await expectCsrfRefused(browser, "stopImpersonating", {})
    const row = await db.impersonation.findUniqueOrThrow({
      where: { id: started.result!.impersonationId },
    })
    expect(row.endedAt).toBeNull()
    expect(await whoAmI(browser)).toMatchObject({ id: target.id, impersonator: { id: support.id } })

    // With the header the same call goes through, so the refusal above was the CSRF check.
    const stopped = await browser.rpc("stopImpersonating", {})
    expect(stopped.result).toEqual({ status: "RESTORED", userId: support.id })
  })
})

describe("impersonateUser input validation", () => {
  it("answers malformed input with a clear error and changes nothing", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const other = await createUser({ label: "other" })
    const browser = await signIn(support)
    const long = "x".repeat(10_000)

    const cases: Array<
      [label: string, send: () => ReturnType<TestBrowser["rpcRaw"]>, message: RegExp]
    > = [
      [
        "a string id",
        () => browser.rpc("impersonateUser", { userId: "1; drop", reason: "r" }),
        /^userId: User ID must be a number$/,
      ],
      [
        "a negative id",
        () => browser.rpc("impersonateUser", { userId: -1, reason: "r" }),
        /^userId: User ID must be a positive number$/,
      ],
      [
        "an infinite id",
        () => browser.rpcRaw("impersonateUser", '{"params":{"userId":1e309,"reason":"r"}}'),
        /^userId: .*User ID/,
      ],
      [
        "a fractional id",
        () => browser.rpc("impersonateUser", { userId: 1.5, reason: "r" }),
        /^userId: User ID must be a whole number$/,
      ],
      [
        "an id above the integer range",
        () => browser.rpc("impersonateUser", { userId: 2 ** 31, reason: "r" }),
        /^userId: User ID is too large$/,
      ],
      [
        "a 10 kB reason",
        () => browser.rpc("impersonateUser", { userId: target.id, reason: long }),
        new RegExp(`^reason: The reason must be at most ${REASON_MAX_LENGTH} characters$`),
      ],
      [
        "a 10 kB email",
        () => browser.rpc("impersonateUser", { email: `${long}@fixture.example`, reason: "r" }),
        /^email: Email is too long/,
      ],
      [
        "an invalid email",
        () => browser.rpc("impersonateUser", { email: "not-an-email", reason: "r" }),
        /^email: Enter a valid email address$/,
      ],
      [
        "a missing reason",
        () => browser.rpc("impersonateUser", { userId: target.id }),
        /^reason: Give a reason for the impersonation$/,
      ],
      [
        "an empty reason",
        () => browser.rpc("impersonateUser", { userId: target.id, reason: "" }),
        /^reason: Give a reason for the impersonation$/,
      ],
      [
        "a blank reason",
        () => browser.rpc("impersonateUser", { userId: target.id, reason: "   " }),
        /^reason: Give a reason for the impersonation$/,
      ],
      [
        "both an id and an email",
        () =>
          browser.rpc("impersonateUser", { userId: target.id, email: other.email, reason: "r" }),
        /either a user ID or an email/,
      ],
      [
        "neither an id nor an email",
        () => browser.rpc("impersonateUser", { reason: "r" }),
        /either a user ID or an email/,
      ],
      [
        "an unknown extra key",
        () =>
          browser.rpc("impersonateUser", {
            userId: target.id,
            reason: "r",
            mode: "READ_WRITE",
            sudo: true,
          }),
        /Unrecognized keys?: .*"sudo"/,
      ],
      ["no params at all", () => browser.rpc("impersonateUser", null), /expected object/],
    ]

    const counts = await rowCounts()
    const session = await sessionSnapshot(browser)
    for (const [label, send, message] of cases) {
      const res = await send()
      expect(res.result, label).toBeNull()
      expect(res.error?.name, label).toBe("InputValidationError")
      expect(res.error?.statusCode, label).toBe(400)
      expect(res.error?.message, label).toMatch(message)
    }
    expect(await rowCounts()).toEqual(counts)
    expect(await sessionSnapshot(browser)).toEqual(session)
    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(0)
    // Only the sign-in is on record.
    expect(await db.auditEvent.count({ where: { actorId: support.id, action: { not: "SIGNED_IN" } } })).toBe(0)
    expect(await whoAmI(browser)).toMatchObject({ id: support.id, impersonator: null })
  })

  it("refuses a body that is not JSON (400) or too large (413) before running anything", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(support)
    const counts = await rowCounts()
    const session = await sessionSnapshot(browser)

    const notJson = await browser.rpcRaw("impersonateUser", "userId=1&reason=x")
    expect(notJson.status).toBe(400)
    expect(notJson.error).toMatchObject({
      name: "BadRequestError",
      message: "The request body must be JSON",
    })

    const truncated = await browser.rpcRaw("impersonateUser", '{"params":{"userId":')
    expect(truncated.status).toBe(400)
    expect(truncated.error?.name).toBe("BadRequestError")

    // Valid JSON naming a real target, so only the size limit stands in the way.
    const padding = "y".repeat(MAX_RPC_BODY_BYTES)
    const huge = JSON.stringify({ params: { userId: target.id, reason: "size", padding } })
    const tooLarge = await browser.rpcRaw("impersonateUser", huge)
    expect(tooLarge.status).toBe(413)
    expect(tooLarge.error).toMatchObject({
      name: "PayloadTooLargeError",
      message: "The request body is too large",
    })

    expect(await rowCounts()).toEqual(counts)
    expect(await sessionSnapshot(browser)).toEqual(session)
    expect(await db.impersonation.count({ where: { actorId: support.id } })).toBe(0)
  })
})

describe("requests a browser would not send", () => {
  it("refuses a cookieless login that is not application/json (a cross-site form post)", async () => {
    const user = await createUser({ label: "csrf-login" })
    const browser = new TestBrowser()
    const counts = await rowCounts()
    const body = JSON.stringify({ params: { email: user.email, password: PASSWORD }, meta: {} })
    const res = await browser.rpcRaw("login", body, { contentType: "text/plain" })
    expect(res.status).toBe(415)
    expect(res.error?.name).toBe("UnsupportedMediaTypeError")
    expect(browser.cookies.size).toBe(0)
    expect(await rowCounts()).toEqual(counts)
  })

  it("answers an unknown resolver with a JSON 404", async () => {
    const res = await new TestBrowser().rpc("dropAllTables", {})
    expect(res.status).toBe(404)
    expect(res.error).toMatchObject({ name: "NotFoundError", message: "No such RPC resolver" })
  })

  it("clears an unreadable session cookie instead of locking the browser out", async () => {
    const user = await createUser({ label: "bad-cookie" })
    const browser = new TestBrowser()
    browser.cookies.set(COOKIE.session, "not-a-session-token")
    const first = await browser.rpc("login", { email: user.email, password: PASSWORD })
    expect(first.status).toBe(401)
    expect(browser.cookies.has(COOKIE.session)).toBe(false)
    const second = await browser.rpc("login", { email: user.email, password: PASSWORD })
    expect(second.error).toBeNull()
    expect(await whoAmI(browser)).toMatchObject({ id: user.id })
  })
})

describe("login errors", () => {
  it("says what went wrong without creating a session", async () => {
    const user = await createUser({ label: "user" })
    const disabled = await createUser({ label: "disabled", status: "DISABLED" })
    const counts = await rowCounts()

    const browser = new TestBrowser()
    const wrong = await browser.rpc("login", { email: user.email, password: "not-the-password" })
    expect(wrong.result).toBeNull()
    expect(wrong.error).toMatchObject({
      name: "AuthenticationError",
      message: "Wrong email or password",
      statusCode: 401,
    })

    const unknown = await browser.rpc("login", {
      email: `nobody-${user.id}@fixture.example`,
      password: PASSWORD,
    })
    expect(unknown.error).toMatchObject({
      name: "AuthenticationError",
      message: "Wrong email or password",
    })

    // A disabled account is only named once the password is right.
    const disabledWrong = await browser.rpc("login", {
      email: disabled.email,
      password: "not-it-at-all",
    })
    expect(disabledWrong.error?.message).toBe("Wrong email or password")
    const disabledRight = await browser.rpc("login", { email: disabled.email, password: PASSWORD })
    expect(disabledRight.result).toBeNull()
    expect(disabledRight.error?.message).toBe("This account is disabled")
    expect(disabledRight.error?.statusCode).toBe(401)

    // Nothing but the four failed sign-ins on record.
    expect(await rowCounts()).toEqual({ ...counts, auditEvents: counts.auditEvents + 4 })
    expect(await db.session.count({ where: { userId: { in: [user.id, disabled.id] } } })).toBe(0)
    expect(await whoAmI(browser)).toBeNull()

    // Emails are normalised at sign-in as well.
    const ok = await browser.rpc("login", { email: user.email.toUpperCase(), password: PASSWORD })
    expect(ok.error).toBeNull()
    expect((await whoAmI(browser))?.id).toBe(user.id)
  })
})

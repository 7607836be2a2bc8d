import { SecurePassword } from "@blitzjs/auth/secure-password"
import crypto from "node:crypto"
import SecurePasswordLib from "secure-password"
import { describe, expect, it } from "vitest"
import db from "db"
import { demoAccountsOnDemoPassword } from "app/auth/demoAccounts"
import { KNOWN_DEVICE_COOKIE, knownDeviceCookieValue, parseKnownDevice } from "app/auth/knownDevice"
import { emailKey } from "app/auth/loginThrottle"
import { loginLockRemainingMs, loginThrottleKeys, recordLoginFailure } from "app/auth/loginThrottle"
import { authenticateUser, passwordHashToVerify } from "app/auth/mutations/login"
import { FIRST_LOCK_MS } from "app/auth/throttlePolicy"
import { DEMO_PASSWORD, DEMO_USERS, seed } from "db/seeds"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createUser, uniqueTag } from "test/helpers/fixtures"

/** Sign-ins, failed sign-ins and sign-outs on record; the per-email and per-IP throttle. */

async function auditFor(email: string) {
  const user = await db.user.findUnique({ where: { email } })
  return db.auditEvent.findMany({
    where: {
      OR: [
        { details: { path: ["email"], equals: email } },
        ...(user ? [{ actorId: user.id }, { subjectId: user.id }] : []),
      ],
    },
    orderBy: { id: "asc" },
  })
}

describe("sign-in audit", () => {
  it("records a sign-in and a sign-out, with the request's user agent", async () => {
    const user = await createUser()
    const browser = new TestBrowser()
    await browser.login(user.email, PASSWORD)
    expect((await browser.rpc("logout", {})).error).toBeNull()
    const events = await auditFor(user.email)
    expect(events.map((e) => [e.action, e.actorId, e.subjectId])).toEqual([
      ["SIGNED_IN", user.id, user.id],
      ["SIGNED_OUT", user.id, user.id],
    ])
    expect(events[0]!.details).toEqual({ method: "PASSWORD" })
    expect(events[0]!.userAgent).toBe("vitest-browser")
  })

  it("records a failed sign-in with the normalised email and a reason, never the password", async () => {
    const user = await createUser()
    const unknown = `${uniqueTag("nobody")}@fixture.example`
    const disabled = await createUser({ status: "DISABLED" })
    const browser = new TestBrowser()
    const wrong = await browser.rpc("login", { email: `  ${user.email.toUpperCase()} `, password: "wrong-password-1" })
    expect(wrong.error).toMatchObject({ name: "AuthenticationError", message: "Wrong email or password" })
    await browser.rpc("login", { email: unknown, password: "wrong-password-2" })
    const refused = await browser.rpc("login", { email: disabled.email, password: PASSWORD })
    expect(refused.error?.message).toBe("This account is disabled")

    const rows = [...(await auditFor(user.email)), ...(await auditFor(unknown)), ...(await auditFor(disabled.email))]
    expect(rows.map((e) => [e.action, e.subjectId, e.details])).toEqual([
      ["SIGN_IN_FAILED", user.id, { email: user.email, reason: "WRONG_PASSWORD" }],
      ["SIGN_IN_FAILED", null, { email: unknown, reason: "UNKNOWN_EMAIL" }],
      ["SIGN_IN_FAILED", disabled.id, { email: disabled.email, reason: "DISABLED" }],
    ])
    expect(JSON.stringify(rows)).not.toMatch(/wrong-password|fixture-password/)
    expect(await db.session.count({ where: { userId: { in: [user.id, disabled.id] } } })).toBe(0)
  })

  it("records a signup as a sign-in", async () => {
    const email = `${uniqueTag("new")}@fixture.example`
    const res = await new TestBrowser().rpc("signup", { name: "New Person", email, password: "a-long-password" })
    expect(res.error).toBeNull()
    const events = await auditFor(email)
    expect(events.map((e) => [e.action, e.details])).toEqual([["SIGNED_IN", { method: "SIGNUP" }]])
  })
})

describe("sign-in throttle", () => {
  it("locks an email after 5 failures, even for the right password, with a 429 and a clear message", async () => {
    const user = await createUser()
    const browser = new TestBrowser()
    for (let i = 0; i < 5; i++) await browser.rpc("login", { email: user.email, password: "wrong-password-1" })
    const res = await browser.rpc("login", { email: user.email, password: PASSWORD })
    expect(res.error).toMatchObject({
      name: "SignInThrottledError",
      statusCode: 429,
      message: "Too many failed sign-ins. Try again in 1 minute.",
    })
    expect(await db.session.count({ where: { userId: user.id } })).toBe(0)
    const last = (await auditFor(user.email)).at(-1)!
    expect(last.details).toEqual({ email: user.email, reason: "THROTTLED" })
    // A refused attempt is not another failure: the lock does not grow.
    expect((await db.loginThrottle.findUnique({ where: { key: `email:${user.email}` } }))?.failures).toBe(5)
    // Only a lock's first refused attempt is audited, so a locked flood cannot fill the log.
    for (let i = 0; i < 10; i++) await browser.rpc("login", { email: user.email, password: PASSWORD })
    const throttled = (await auditFor(user.email)).filter((e) => (e.details as { reason?: string }).reason === "THROTTLED")
    expect(throttled).toHaveLength(1)

    // The lock ends by itself.
    await db.loginThrottle.update({ where: { key: `email:${user.email}` }, data: { lockedUntil: new Date(Date.now() - 1) } })
    expect((await browser.rpc("login", { email: user.email, password: PASSWORD })).error).toBeNull()
  })

  it("locks an unknown email the same way, so a lock tells nothing about who has an account", async () => {
    const email = `${uniqueTag("nobody")}@fixture.example`
    const browser = new TestBrowser()
    for (let i = 0; i < 5; i++) await browser.rpc("login", { email, password: "wrong-password-1" })
    expect((await browser.rpc("login", { email, password: "wrong-password-1" })).error?.statusCode).toBe(429)
  })

  it("forgets an email's failures after a successful sign-in", async () => {
    const user = await createUser()
    const browser = new TestBrowser()
    for (let i = 0; i < 4; i++) await browser.rpc("login", { email: user.email, password: "wrong-password-1" })
    await browser.login(user.email, PASSWORD)
    expect(await db.loginThrottle.findUnique({ where: { key: `email:${user.email}` } })).toBeNull()
  })

  it("counts concurrent failures per email and per IP, and locks the IP at its own threshold", async () => {
    const email = `${uniqueTag("spray")}@fixture.example`
    const ip = `203.0.113.${Math.floor(Math.random() * 250)}-${uniqueTag("ip")}`
    const keys = loginThrottleKeys(email, ip)
    expect(keys.map((k) => [k.key, k.limits.maxFailures])).toEqual([
      [`email:${email}`, 5],
      [`ip:${ip}`, 50],
    ])
    const now = new Date()
    await Promise.all(Array.from({ length: 10 }, () => db.$transaction((tx) => recordLoginFailure(tx, keys, now))))
    const rows = await db.loginThrottle.findMany({ where: { key: { in: keys.map((k) => k.key) } } })
    expect(rows.map((r) => r.failures)).toEqual([10, 10])
    expect(await loginLockRemainingMs(keys, now)).toBeGreaterThan(FIRST_LOCK_MS) // the email's lock
    // Another email from the same IP: locked only once the IP reaches its threshold.
    const other = loginThrottleKeys(`${uniqueTag("other")}@fixture.example`, ip)
    expect(await loginLockRemainingMs(other, now)).toBe(0)
    for (let i = 0; i < 40; i++) await db.$transaction((tx) => recordLoginFailure(tx, [other[1]!], now))
    expect(await loginLockRemainingMs(other, now)).toBe(FIRST_LOCK_MS)
  })
})

describe("timing of unknown emails", () => {
  it("verifies an unknown email against a real hash, as a wrong password is", async () => {
    const hash = await passwordHashToVerify(null)
    expect(hash).toBe(await passwordHashToVerify(null)) // computed once
    // A well-formed hash (not "unrecognised", which is refused without hashing): the full verification runs.
    const verdict = new SecurePasswordLib().verifySync(Buffer.from("wrong-password-1"), Buffer.from(hash, "base64"))
    expect(verdict).toBe(SecurePasswordLib.INVALID)
  })

  it("takes comparable time for unknown and known emails (printed; generous bound)", async () => {
    const user = await createUser()
    const median = async (email: string) => {
      const times: number[] = []
      for (let i = 0; i < 4; i++) {
        const started = performance.now()
        await authenticateUser(email, "wrong-password-1").catch(() => {})
        times.push(performance.now() - started)
        await db.loginThrottle.deleteMany({ where: { key: `email:${email}` } })
      }
      return times.sort((a, b) => a - b)[2]!
    }
    await passwordHashToVerify(null)
    const known = await median(user.email)
    const unknown = await median(`${uniqueTag("nobody")}@fixture.example`)
    console.log(`login refusal, median: known email ${known.toFixed(1)} ms, unknown email ${unknown.toFixed(1)} ms`)
    expect(unknown).toBeGreaterThan(known * 0.3)
  })
})

describe("demo accounts on the demo password", () => {
  it("lists seeded accounts until their password is changed", async () => {
    await seed()
    // projects.test.ts signs in as Uma with a password of its own for a moment: in a shared
    // PostgreSQL database she may be off the demo password while this runs.
    const others = DEMO_USERS.map((d) => d.email).filter((email) => email !== "user@example.com")
    expect(await demoAccountsOnDemoPassword()).toEqual(expect.arrayContaining(others))
    const changed = await SecurePassword.hash("a-real-password-1")
    await db.user.update({ where: { email: "superadmin@example.com" }, data: { hashedPassword: changed } })
    const flagged = await demoAccountsOnDemoPassword()
    expect(flagged).not.toContain("superadmin@example.com")
    expect(flagged).toEqual(expect.arrayContaining(others.filter((email) => email !== "superadmin@example.com")))
    await db.user.updateMany({ where: { email: { in: flagged } }, data: { hashedPassword: changed } })
    expect((await demoAccountsOnDemoPassword()).filter((email) => flagged.includes(email))).toEqual([])
    expect(DEMO_PASSWORD).toBe("demo-password-1")
  })
})

describe("known-device cookies", () => {
  const lockEnds = (key: string) =>
    db.loginThrottle.update({ where: { key }, data: { lockedUntil: new Date(Date.now() - 1) } })

  it("keeps the owner's browser signing in while a flood of wrong passwords locks their email", async () => {
    const victim = await createUser()
    const own = new TestBrowser()
    await own.login(victim.email, PASSWORD)
    expect((await own.rpc("logout", {})).error).toBeNull()
    expect(own.cookies.get(KNOWN_DEVICE_COOKIE)).toBeTruthy() // kept after signing out

    const attacker = new TestBrowser()
    for (let i = 0; i < 5; i++) await attacker.rpc("login", { email: victim.email, password: "wrong-password-1" })
    // One more wrong password each time the lock ends keeps the email locked.
    for (let round = 0; round < 3; round++) {
      await lockEnds(`email:${victim.email}`)
      await attacker.rpc("login", { email: victim.email, password: "wrong-password-1" })
    }
    expect((await attacker.rpc("login", { email: victim.email, password: PASSWORD })).error?.statusCode).toBe(429)

    await own.login(victim.email, PASSWORD)
    expect(await db.session.count({ where: { userId: victim.id } })).toBe(1)
    // The owner's sign-in does not lift the flood's lock for browsers without the cookie.
    expect((await attacker.rpc("login", { email: victim.email, password: PASSWORD })).error?.statusCode).toBe(429)
  })

  it("locks a known browser that guesses wrong 5 times on its own key, and only that browser", async () => {
    const user = await createUser()
    const known = new TestBrowser()
    await known.login(user.email, PASSWORD)
    const otherKnown = new TestBrowser()
    await otherKnown.login(user.email, PASSWORD)
    expect((await known.rpc("logout", {})).error).toBeNull()
    expect((await otherKnown.rpc("logout", {})).error).toBeNull()
    const deviceKey = emailKey(user.email, parseKnownDevice(known.cookies.get(KNOWN_DEVICE_COOKIE)!)!.deviceId)
    for (let i = 0; i < 5; i++) await known.rpc("login", { email: user.email, password: "wrong-password-1" })
    const res = await known.rpc("login", { email: user.email, password: PASSWORD })
    expect(res.error).toMatchObject({ name: "SignInThrottledError", statusCode: 429 })
    expect((await db.loginThrottle.findUnique({ where: { key: deviceKey } }))?.failures).toBe(5)
    expect(await db.loginThrottle.findUnique({ where: { key: `email:${user.email}` } })).toBeNull()
    // A thief of one browser's cookie does not lock the owner's other browsers.
    await otherKnown.login(user.email, PASSWORD)
    await lockEnds(deviceKey)
    await known.login(user.email, PASSWORD)
    expect(await db.loginThrottle.findUnique({ where: { key: deviceKey } })).toBeNull()
  })

  it("gives no bypass for a cookie of another email, a tampered one or a forged one", async () => {
    const victim = await createUser()
    const other = await createUser()
    const attacker = new TestBrowser()
    await attacker.login(other.email, PASSWORD)
    const otherCookie = attacker.cookies.get(KNOWN_DEVICE_COOKIE)!
    const [, deviceId, otherMac] = otherCookie.split(".")
    const victimPart = `${Buffer.from(victim.email).toString("base64url")}.${deviceId}`
    const forgedMac = crypto
      .createHmac("sha256", "not-the-key")
      .update(`known-device:${victim.email}\n${deviceId}`)
      .digest("base64url")
    for (let i = 0; i < 5; i++) await new TestBrowser().rpc("login", { email: victim.email, password: "wrong-password-1" })
    for (const cookie of [otherCookie, `${victimPart}.${otherMac}`, `${victimPart}.${forgedMac}`, victimPart, "garbage"]) {
      const browser = new TestBrowser()
      browser.cookies.set(KNOWN_DEVICE_COOKIE, cookie)
      expect((await browser.rpc("login", { email: victim.email, password: PASSWORD })).error?.statusCode).toBe(429)
    }
    expect(await db.session.count({ where: { userId: victim.id } })).toBe(0)
  })

  it("is HttpOnly, SameSite=Lax, for the whole site and 180 days, on sign-in and on signup", async () => {
    const user = await createUser()
    const login = await new TestBrowser().login(user.email, PASSWORD)
    const email = `${uniqueTag("new")}@fixture.example`
    const signup = await new TestBrowser().rpc("signup", { name: "New Person", email, password: "a-long-password" })
    for (const [res, who] of [[login, user.email], [signup, email]] as const) {
      const cookie = res.raw.headers.getSetCookie().find((c) => c.startsWith(`${KNOWN_DEVICE_COOKIE}=`))
      const value = cookie?.split(";")[0]!.slice(KNOWN_DEVICE_COOKIE.length + 1) ?? null
      const device = parseKnownDevice(value)
      expect(device?.email).toBe(who)
      expect(cookie).toBe(
        `${KNOWN_DEVICE_COOKIE}=${knownDeviceCookieValue(who, device!.deviceId)}; Path=/; Max-Age=15552000; HttpOnly; SameSite=Lax`,
      )
    }
    expect(KNOWN_DEVICE_COOKIE).toBe("safe_imp_knownDevice")
  })
})

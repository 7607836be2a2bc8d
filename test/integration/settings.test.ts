import crypto from "node:crypto"
import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { MAX_ACTIVE_API_KEYS } from "app/settings/apiKeys"
import type { Settings } from "app/settings/queries/getSettings"
import { loadOrganizationPage } from "app/organizations/members"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createOrganization, createUser, uniqueTag } from "test/helpers/fixtures"
import { currentUser, signIn } from "test/helpers/session"

/**
 * The Settings page's resolvers and the Members tab's "Change role", through the real RPC
 * route: what each changes, what each refuses (and that a refusal changes nothing), and what
 * an impersonating admin sees (masked) and may reveal (audited).
 */

const PHONE = "+1 555 0100 8642"
const NEW_PASSWORD = "a-brand-new-password-7"

type Person = Awaited<ReturnType<typeof createUser>>

async function userWithPhone(options: Parameters<typeof createUser>[0] = {}) {
  const user = await createUser(options)
  return db.user.update({ where: { id: user.id }, data: { phone: PHONE } })
}

/** Everything of a person's account that a settings call could change. */
async function account(userId: number) {
  const [user, apiKeys, memberships, sessions] = await Promise.all([
    db.user.findUniqueOrThrow({ where: { id: userId } }),
    db.apiKey.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    db.membership.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    db.session.findMany({ where: { userId }, orderBy: { id: "asc" }, select: { handle: true } }),
  ])
  return { user, apiKeys, memberships, sessions }
}

/** A SUPPORT admin impersonating `target` read-only, in a browser of their own. */
async function supportImpersonating(target: Person) {
  const support = await createUser({ label: "support", role: "SUPPORT" })
  const browser = await signIn(support)
  const res = await browser.rpc<{ impersonationId: number }>("impersonateUser", { userId: target.id, reason: "Ticket 88: phone" })
  expect(res.error).toBeNull()
  return { support, browser, impersonationId: res.result!.impersonationId }
}

function addKey(userId: number, name = "Deploy") {
  const key = `sk_${crypto.randomBytes(32).toString("base64url")}`
  return db.apiKey.create({
    data: { userId, name, hashedKey: crypto.createHash("sha256").update(key).digest("hex"), lastChars: key.slice(-4) },
  })
}

function revealedEvents(impersonationId: number) {
  return db.auditEvent.findMany({ where: { impersonationId, action: "SENSITIVE_FIELD_REVEALED" }, orderBy: { id: "asc" } })
}

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("getSettings", () => {
  it("returns the user's own profile, last-seen time and API keys, never a hash", async () => {
    const user = await userWithPhone()
    const key = await addKey(user.id)
    const browser = await signIn(user)
    const res = await browser.rpc<Settings>("getSettings")
    expect(res.error).toBeNull()
    const settings = res.result!
    expect(settings).toMatchObject({ id: user.id, name: user.name, email: user.email, phone: PHONE, organizations: [] })
    expect(settings.lastSeenAt).toBeInstanceOf(Date)
    expect(settings.createdAt).toEqual(user.createdAt)
    expect(settings.apiKeys).toEqual([
      { id: key.id, name: "Deploy", lastChars: key.lastChars, createdAt: key.createdAt, revokedAt: null },
    ])
    const body = await res.raw.clone().text()
    expect(body).not.toContain(key.hashedKey)
    expect(body).not.toContain("hashedPassword")
  })

  it("refuses a signed-out browser", async () => {
    const res = await new TestBrowser().rpc("getSettings")
    expect(res.error).toMatchObject({ name: "AuthenticationError" })
  })

  it("while impersonating, sends the phone and key endings masked: the real ones are nowhere in the body", async () => {
    const user = await userWithPhone()
    const key = await addKey(user.id)
    const { browser } = await supportImpersonating(user)
    const res = await browser.rpc<Settings>("getSettings")
    expect(res.error).toBeNull()
    const body = await res.raw.clone().text()
    expect(body).toContain("•••• 8642")
    expect(body).not.toContain("0100")
    expect(body).not.toContain(PHONE)
    expect(body).not.toContain(`"lastChars":"${key.lastChars}"`)
    expect(res.result!.apiKeys[0]!.lastChars).toBe("••••")
    // The stored values are untouched.
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).phone).toBe(PHONE)
  })
})

describe("revealSensitiveField", () => {
  it("while impersonating, returns the real phone for this one answer and records who, whose, which and why", async () => {
    const user = await userWithPhone()
    const { support, browser, impersonationId } = await supportImpersonating(user)

    const res = await browser.rpc<{ value: string }>("revealSensitiveField", { field: "User.phone", reason: "  Caller verified by SMS  " })
    expect(res.error).toBeNull()
    expect(res.result).toEqual({ value: PHONE })

    const events = await revealedEvents(impersonationId)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ actorId: support.id, subjectId: user.id, impersonationId })
    expect(events[0]!.details).toEqual({ field: "User.phone", id: user.id, reason: "Caller verified by SMS" })
    // A reveal is no mutation of the user's data: not gated, not audited as one.
    expect(await db.auditEvent.count({ where: { impersonationId, action: "IMPERSONATED_MUTATION" } })).toBe(0)
    // The next answer is masked again.
    expect(await (await browser.rpc("getSettings")).raw.clone().text()).not.toContain("0100")
  })

  it("reveals one of the user's API key endings by id, and nobody else's", async () => {
    const user = await userWithPhone()
    const other = await createUser({ label: "other" })
    const own = await addKey(user.id)
    const foreign = await addKey(other.id)
    const { browser, impersonationId } = await supportImpersonating(user)

    const res = await browser.rpc<{ value: string }>("revealSensitiveField", { field: "ApiKey.lastChars", id: own.id, reason: "Which key fails?" })
    expect(res.result).toEqual({ value: own.lastChars })
    const refused = await browser.rpc("revealSensitiveField", { field: "ApiKey.lastChars", id: foreign.id, reason: "Which key fails?" })
    expect(refused.error).toMatchObject({ name: "NotFoundError", statusCode: 404 })
    expect(await refused.raw.clone().text()).not.toContain(foreign.lastChars)
    const events = await revealedEvents(impersonationId)
    expect(events.map((e) => e.details)).toEqual([{ field: "ApiKey.lastChars", id: own.id, reason: "Which key fails?" }])
  })

  it("refuses bad input in words and records nothing", async () => {
    const user = await userWithPhone()
    const other = await createUser({ label: "other" })
    const { browser, impersonationId } = await supportImpersonating(user)
    const cases: Array<[Record<string, unknown>, RegExp | string]> = [
      [{ field: "User.phone" }, /reason/],
      [{ field: "User.phone", reason: "   " }, /Give a reason for revealing/],
      [{ field: "User.phone", reason: "a \u200b b" }, /at least 3 characters/],
      [{ field: "User.hashedPassword", reason: "Just curious" }, /field must be one of User.phone, ApiKey.lastChars/],
      [{ field: "ApiKey.lastChars", reason: "No key named" }, /id: Name the row/],
      [{ field: "User.phone", reason: "Long".repeat(200) }, /at most 500/],
      [{ field: "User.phone", reason: "Extra key", userId: other.id }, /Unrecognized key/],
    ]
    for (const [input, message] of cases) {
      const res = await browser.rpc("revealSensitiveField", input)
      expect(res.error?.statusCode, JSON.stringify(input)).toBe(400)
      expect(res.error!.message).toMatch(message)
    }
    const foreign = await browser.rpc("revealSensitiveField", { field: "User.phone", id: other.id, reason: "Their phone" })
    expect(foreign.error).toMatchObject({ statusCode: 404 })
    expect(await revealedEvents(impersonationId)).toHaveLength(0)
  })

  it("outside an impersonation simply returns the person's own value, with no audit event", async () => {
    const user = await userWithPhone()
    const browser = await signIn(user)
    const before = await db.auditEvent.count({ where: { action: "SENSITIVE_FIELD_REVEALED" } })
    const res = await browser.rpc("revealSensitiveField", { field: "User.phone", reason: "Checking" })
    expect(res.result).toEqual({ value: PHONE })
    expect(await db.auditEvent.count({ where: { action: "SENSITIVE_FIELD_REVEALED" } })).toBe(before)
  })
})

describe("updateProfile", () => {
  it("sets the name and a phone number, removes the phone when empty, and leaves it when absent", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    expect((await browser.rpc("updateProfile", { name: "  Pat  ", phone: " +44 (20) 7946-0018 " })).result).toEqual({
      id: user.id,
      name: "Pat",
      phone: "+44 (20) 7946-0018",
    })
    expect((await browser.rpc("updateProfile", { name: "Pat Again" })).result).toMatchObject({ phone: "+44 (20) 7946-0018" })
    expect((await browser.rpc("updateProfile", { name: "Pat", phone: "" })).result).toMatchObject({ phone: null })
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).phone).toBeNull()
  })

  it("refuses a phone that is not one, or a missing name, and changes nothing", async () => {
    const user = await userWithPhone()
    const browser = await signIn(user)
    const before = await account(user.id)
    for (const input of [
      { name: "Pat", phone: "call me" },
      { name: "Pat", phone: "12345" },
      { name: "Pat", phone: "+1 555 0100 1234 5678 9" },
      { name: "Pat", phone: "(((())))---" },
      { name: "Pat", phone: 5550100 },
      { name: "   ", phone: PHONE },
      { phone: PHONE },
      { name: "Pat", phone: PHONE, email: "x@example.com" },
    ]) {
      const res = await browser.rpc("updateProfile", input)
      expect(res.error?.statusCode, JSON.stringify(input)).toBe(400)
    }
    const res = await browser.rpc("updateProfile", { name: "Pat", phone: "abc" })
    expect(res.error!.message).toBe("phone: Enter a phone number of 7 to 20 characters: digits, spaces, +, -, ( and )")
    expect(await account(user.id)).toEqual(before)
  })
})

describe("changePassword", () => {
  it("checks the current password, changes it, keeps this browser signed in on a fresh session and ends the others", async () => {
    const user = await createUser({ role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = await signIn(user)
    const other = await signIn(user)
    const impersonating = await signIn(user)
    const started = await impersonating.rpc<{ impersonationId: number }>("impersonateUser", { userId: target.id, reason: "Ticket 9" })
    expect(started.error).toBeNull()
    const oldHandle = (await browser.pageSession()).$handle

    const res = await browser.rpc("changePassword", { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
    expect(res.error).toBeNull()
    expect(res.result).toEqual({ passwordChanged: true, otherSessionsEnded: 2 })

    expect((await currentUser(browser))?.id).toBe(user.id)
    const newHandle = (await browser.pageSession()).$handle
    expect(newHandle).not.toBe(oldHandle)
    expect(await db.session.findUnique({ where: { handle: oldHandle! } })).toBeNull()
    expect(await currentUser(other)).toBeNull()
    expect(await currentUser(impersonating)).toBeNull()
    expect(await db.session.count({ where: { userId: user.id } })).toBe(1)
    const impersonation = await db.impersonation.findUniqueOrThrow({ where: { id: started.result!.impersonationId } })
    expect(impersonation).toMatchObject({ endReason: "PASSWORD_CHANGED", endedById: user.id })

    expect((await new TestBrowser().rpc("login", { email: user.email, password: PASSWORD })).error?.message).toBe("Wrong email or password")
    expect((await new TestBrowser().rpc("login", { email: user.email, password: NEW_PASSWORD })).error).toBeNull()
  })

  it("refuses a wrong current password clearly and changes nothing", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    const other = await signIn(user)
    const before = await account(user.id)
    const res = await browser.rpc("changePassword", { currentPassword: "not-my-password", newPassword: NEW_PASSWORD })
    expect(res.error).toMatchObject({ name: "WrongPasswordError", statusCode: 403, message: "Your current password is not correct" })
    expect(await account(user.id)).toEqual(before)
    expect((await currentUser(other))?.id).toBe(user.id)
  })

  it("refuses a weak, unchanged or missing new password in words and changes nothing", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    const before = await account(user.id)
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ currentPassword: PASSWORD, newPassword: "short" }, /newPassword: Password must be at least 10 characters/],
      [{ currentPassword: PASSWORD, newPassword: PASSWORD }, /newPassword: The new password must be different/],
      [{ currentPassword: "", newPassword: NEW_PASSWORD }, /currentPassword: Enter your current password/],
      [{ currentPassword: PASSWORD }, /newPassword/],
    ]
    for (const [input, message] of cases) {
      const res = await browser.rpc("changePassword", input)
      expect(res.error?.statusCode).toBe(400)
      expect(res.error!.message).toMatch(message)
    }
    expect(await account(user.id)).toEqual(before)
  })

  it("counts wrong current passwords in the sign-in throttle: locked, even the right one is not checked", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    for (let i = 0; i < 5; i++) {
      const res = await browser.rpc("changePassword", { currentPassword: `wrong-password-${i}`, newPassword: NEW_PASSWORD })
      expect(res.error?.name).toBe("WrongPasswordError")
    }
    const before = await account(user.id)
    const locked = await browser.rpc("changePassword", { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
    expect(locked.error).toMatchObject({ statusCode: 429, message: expect.stringMatching(/^Too many wrong passwords\. Try again in \d+ minutes?\.$/) })
    expect(await account(user.id)).toEqual(before)
  })
})

describe("changeEmail", () => {
  it("changes the email; the new one signs in, the old one no longer does", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    const email = `${uniqueTag("moved")}@fixture.example`
    const res = await browser.rpc("changeEmail", { email: `  ${email.toUpperCase()} ` })
    expect(res.result).toEqual({ email, changed: true })
    expect((await db.user.findUniqueOrThrow({ where: { id: user.id } })).email).toBe(email)
    expect((await new TestBrowser().rpc("login", { email, password: PASSWORD })).error).toBeNull()
    expect((await new TestBrowser().rpc("login", { email: user.email, password: PASSWORD })).error).not.toBeNull()
    expect((await browser.rpc("changeEmail", { email })).result).toEqual({ email, changed: false })
  })

  it("refuses an address another account uses, or no address, and changes nothing", async () => {
    const user = await createUser()
    const taken = await createUser({ label: "taken" })
    const browser = await signIn(user)
    const before = await account(user.id)
    const res = await browser.rpc("changeEmail", { email: taken.email.toUpperCase() })
    expect(res.error).toMatchObject({ name: "EmailTakenError", statusCode: 409, message: "An account with this email already exists" })
    for (const input of [{ email: "not an email" }, { email: "" }, {}, { email: `${"a".repeat(250)}@x.io` }]) {
      expect((await browser.rpc("changeEmail", input)).error?.statusCode, JSON.stringify(input)).toBe(400)
    }
    expect(await account(user.id)).toEqual(before)
  })
})

describe("API keys", () => {
  it("returns the plaintext key once and stores only its SHA-256 and last 4 characters", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    const res = await browser.rpc<{ id: number; key: string; name: string; lastChars: string }>("createApiKey", { name: " CI deploys " })
    expect(res.error).toBeNull()
    const { id, key, name, lastChars } = res.result!
    expect(key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/)
    expect(name).toBe("CI deploys")
    const row = await db.apiKey.findUniqueOrThrow({ where: { id } })
    expect(row).toMatchObject({ userId: user.id, name: "CI deploys", lastChars: key.slice(-4), revokedAt: null })
    expect(lastChars).toBe(key.slice(-4))
    expect(row.hashedKey).toBe(crypto.createHash("sha256").update(key).digest("hex"))
    expect(JSON.stringify(row)).not.toContain(key)
    // Never again: the settings list has no key, and a second key is another one.
    const listed = await (await browser.rpc("getSettings")).raw.clone().text()
    expect(listed).not.toContain(key)
    expect(listed).not.toContain(row.hashedKey)
    const second = await browser.rpc<{ key: string }>("createApiKey", { name: "Second" })
    expect(second.result!.key).not.toBe(key)
  })

  it("refuses a key without a name, or past the limit of active keys, and creates nothing", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    for (const input of [{ name: "   " }, {}, { name: "x".repeat(61) }, { name: "ok", hashedKey: "mine" }]) {
      expect((await browser.rpc("createApiKey", input)).error?.statusCode, JSON.stringify(input)).toBe(400)
    }
    expect(await db.apiKey.count({ where: { userId: user.id } })).toBe(0)
    for (let i = 0; i < MAX_ACTIVE_API_KEYS; i++) await addKey(user.id, `Key ${i}`)
    const res = await browser.rpc("createApiKey", { name: "One too many" })
    expect(res.error).toMatchObject({ name: "TooManyApiKeysError", statusCode: 409 })
    expect(res.error!.message).toMatch(/revoke one/)
    expect(await db.apiKey.count({ where: { userId: user.id } })).toBe(MAX_ACTIVE_API_KEYS)
  })

  it("revokes only the user's own keys, and a second revoke changes nothing", async () => {
    const user = await createUser()
    const other = await createUser({ label: "other" })
    const own = await addKey(user.id)
    const foreign = await addKey(other.id)
    const browser = await signIn(user)

    const first = await browser.rpc<{ revokedAt: Date; revokedNow: boolean }>("revokeApiKey", { id: own.id })
    expect(first.result).toMatchObject({ id: own.id, revokedNow: true })
    const revokedAt = first.result!.revokedAt
    expect(revokedAt).toBeInstanceOf(Date)
    const again = await browser.rpc<{ revokedAt: Date; revokedNow: boolean }>("revokeApiKey", { id: own.id })
    expect(again.result).toMatchObject({ id: own.id, revokedNow: false, revokedAt })
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: own.id } })).revokedAt).toEqual(revokedAt)

    const refused = await browser.rpc("revokeApiKey", { id: foreign.id })
    expect(refused.error).toMatchObject({ name: "NotFoundError", statusCode: 404, message: "You have no API key with that ID" })
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: foreign.id } })).toEqual(foreign)
    for (const input of [{ id: "1" }, { id: -1 }, {}, { id: 2 ** 31 }]) {
      expect((await browser.rpc("revokeApiKey", input)).error?.statusCode, JSON.stringify(input)).toBe(400)
    }
  })
})

describe("signOutEverywhere", () => {
  it("ends every session of the user, this one included", async () => {
    const user = await createUser()
    const browser = await signIn(user)
    const other = await signIn(user)
    const res = await browser.rpc("signOutEverywhere", {})
    expect(res.result).toEqual({ signedOut: true, sessions: 2 })
    expect(await currentUser(browser)).toBeNull()
    expect(await currentUser(other)).toBeNull()
    expect(await db.session.count({ where: { userId: user.id } })).toBe(0)
  })
})

describe("deleteAccount", () => {
  it("erases the person but keeps the row; ends sessions and impersonations; keeps only shared projects", async () => {
    const org = await createOrganization("gone")
    const user = await userWithPhone({ role: "SUPPORT", organization: { id: org.id, role: "ADMIN" } })
    const teammate = await createUser({ label: "teammate", organization: { id: org.id, role: "OWNER" } })
    const target = await createUser({ label: "target" })
    const key = await addKey(user.id)
    const alone = await db.project.create({ data: { name: "Mine only", organizationId: org.id, ownerId: user.id } })
    const shared = await db.project.create({
      data: { name: "Shared", organizationId: org.id, ownerId: user.id, members: { create: { userId: teammate.id } } },
    })
    const theirs = await db.project.create({
      data: { name: "Theirs", organizationId: org.id, ownerId: teammate.id, members: { create: { userId: user.id } } },
    })
    const browser = await signIn(user)
    const other = await signIn(user)
    const impersonating = await signIn(user)
    const started = await impersonating.rpc<{ impersonationId: number }>("impersonateUser", { userId: target.id, reason: "Ticket 10" })
    expect(started.error).toBeNull()

    const res = await browser.rpc("deleteAccount", { password: PASSWORD })
    expect(res.error).toBeNull()
    expect(res.result).toEqual({ deleted: true })

    const row = await db.user.findUniqueOrThrow({ where: { id: user.id } })
    expect(row).toMatchObject({
      email: `deleted-${user.id}@deleted.invalid`,
      name: "Deleted user",
      phone: null,
      hashedPassword: null,
      status: "DISABLED",
    })
    expect(row.deletedAt).toBeInstanceOf(Date)
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).revokedAt).toEqual(row.deletedAt)
    expect(await db.membership.count({ where: { userId: user.id } })).toBe(0)
    expect(await db.project.findUnique({ where: { id: alone.id } })).toBeNull()
    expect(await db.project.findUnique({ where: { id: shared.id } })).toMatchObject({ ownerId: user.id })
    expect(await db.projectMember.count({ where: { projectId: theirs.id } })).toBe(0)
    expect(await db.session.count({ where: { userId: user.id } })).toBe(0)
    for (const b of [browser, other, impersonating]) expect(await currentUser(b)).toBeNull()
    const impersonation = await db.impersonation.findUniqueOrThrow({ where: { id: started.result!.impersonationId } })
    expect(impersonation).toMatchObject({ endReason: "SIGNED_OUT", endedById: user.id })
    expect((await new TestBrowser().rpc("login", { email: user.email, password: PASSWORD })).error).not.toBeNull()
    const event = await db.auditEvent.findFirst({ where: { actorId: user.id, action: "SIGNED_OUT" }, orderBy: { id: "desc" } })
    expect(event?.details).toMatchObject({ everywhere: true, cause: "ACCOUNT_DELETED", sessions: 3 })
  })

  it("refuses a wrong or missing password and changes nothing", async () => {
    const user = await userWithPhone()
    await addKey(user.id)
    const browser = await signIn(user)
    const before = await account(user.id)
    const wrong = await browser.rpc("deleteAccount", { password: "not-my-password" })
    expect(wrong.error).toMatchObject({ name: "WrongPasswordError", statusCode: 403, message: "Your password is not correct" })
    for (const input of [{}, { password: "" }, { password: PASSWORD, userId: 1 }]) {
      expect((await browser.rpc("deleteAccount", input)).error?.statusCode, JSON.stringify(input)).toBe(400)
    }
    expect(await account(user.id)).toEqual(before)
  })

  it("refuses the only owner of an organization with other members, and changes nothing", async () => {
    const org = await createOrganization("owned")
    const user = await createUser({ organization: { id: org.id, role: "OWNER" } })
    await createUser({ label: "member", organization: { id: org.id, role: "MEMBER" } })
    const browser = await signIn(user)
    const before = await account(user.id)
    const res = await browser.rpc("deleteAccount", { password: PASSWORD })
    expect(res.error).toMatchObject({ name: "LastOwnerError", statusCode: 409 })
    expect(res.error!.message).toBe(
      `You are the only owner of ${org.name}: make another member an owner before you delete your account`,
    )
    expect(await account(user.id)).toEqual(before)
  })
})

describe("changeMemberRole", () => {
  async function organization() {
    const org = await createOrganization("roles")
    const owner = await createUser({ label: "owner", organization: { id: org.id, role: "OWNER" } })
    const admin = await createUser({ label: "admin", organization: { id: org.id, role: "ADMIN" } })
    const member = await createUser({ label: "member", organization: { id: org.id, role: "MEMBER" } })
    return { org, owner, admin, member }
  }
  const roleOf = async (organizationId: number, userId: number) =>
    (await db.membership.findUniqueOrThrow({ where: { organizationId_userId: { organizationId, userId } } })).role
  const roles = (organizationId: number) =>
    db.membership.findMany({ where: { organizationId }, select: { userId: true, role: true }, orderBy: { userId: "asc" } })

  it("lets an owner give any role and an admin promote or demote non-owners", async () => {
    const { org, owner, admin, member } = await organization()
    const byOwner = await signIn(owner)
    expect((await byOwner.rpc("changeMemberRole", { organizationId: org.id, userId: member.id, role: "ADMIN" })).result).toEqual({
      organizationId: org.id,
      userId: member.id,
      role: "ADMIN",
      changed: true,
    })
    const byAdmin = await signIn(admin)
    expect((await byAdmin.rpc("changeMemberRole", { organizationId: org.id, userId: member.id, role: "MEMBER" })).error).toBeNull()
    expect(await roleOf(org.id, member.id)).toBe("MEMBER")
    expect((await byOwner.rpc("changeMemberRole", { organizationId: org.id, userId: admin.id, role: "OWNER" })).error).toBeNull()
    expect(await roleOf(org.id, admin.id)).toBe("OWNER")
    // Each change is on record (roles decide who may impersonate whom); a no-op is not.
    expect((await byOwner.rpc("changeMemberRole", { organizationId: org.id, userId: admin.id, role: "OWNER" })).result).toMatchObject({ changed: false })
    const events = await db.auditEvent.findMany({ where: { organizationId: org.id, action: "MEMBER_ROLE_CHANGED" }, orderBy: { id: "asc" } })
    expect(events.map((e) => [e.actorId, e.subjectId, e.details])).toEqual([
      [owner.id, member.id, { from: "MEMBER", to: "ADMIN" }],
      [admin.id, member.id, { from: "ADMIN", to: "MEMBER" }],
      [owner.id, admin.id, { from: "ADMIN", to: "OWNER" }],
    ])
  })

  it("refuses in words what the caller may not do, and changes nothing", async () => {
    const { org, owner, admin, member } = await organization()
    const outsider = await createUser({ label: "outsider" })
    const before = await roles(org.id)
    const cases: Array<[Person, number, string, number, string]> = [
      [admin, member.id, "OWNER", 403, "Only an owner can make someone an owner or change an owner's role"],
      [admin, owner.id, "MEMBER", 403, "Only an owner can make someone an owner or change an owner's role"],
      [owner, owner.id, "ADMIN", 403, "You cannot change your own role"],
      [admin, admin.id, "MEMBER", 403, "You cannot change your own role"],
      [member, admin.id, "MEMBER", 403, "Only an owner or admin of this organization can change roles"],
      [outsider, member.id, "ADMIN", 404, "No organization with that ID"],
      [owner, outsider.id, "ADMIN", 404, "No member with that user ID in this organization"],
    ]
    for (const [caller, userId, role, statusCode, message] of cases) {
      const res = await (await signIn(caller)).rpc("changeMemberRole", { organizationId: org.id, userId, role })
      expect(res.error, `${caller.email} -> ${role}`).toMatchObject({ statusCode, message })
    }
    const byOwner = await signIn(owner)
    for (const input of [
      { organizationId: org.id, userId: member.id, role: "KING" },
      { organizationId: org.id, userId: member.id },
      { organizationId: String(org.id), userId: member.id, role: "ADMIN" },
      { organizationId: org.id, userId: member.id, role: "ADMIN", note: "x" },
    ]) {
      expect((await byOwner.rpc("changeMemberRole", input)).error?.statusCode, JSON.stringify(input)).toBe(400)
    }
    expect(await roles(org.id)).toEqual(before)
    expect(await db.auditEvent.count({ where: { organizationId: org.id, action: "MEMBER_ROLE_CHANGED" } })).toBe(0)
  })

  it("keeps at least one owner when two owners demote each other at once", async () => {
    const { org, owner } = await organization()
    const second = await createUser({ label: "owner2", organization: { id: org.id, role: "OWNER" } })
    const [a, b] = [await signIn(owner), await signIn(second)]
    const results = await Promise.all([
      a.rpc("changeMemberRole", { organizationId: org.id, userId: second.id, role: "MEMBER" }),
      b.rpc("changeMemberRole", { organizationId: org.id, userId: owner.id, role: "MEMBER" }),
    ])
    expect(results.filter((r) => r.error === null)).toHaveLength(1)
    expect(results.find((r) => r.error)!.error!.statusCode).toBeGreaterThanOrEqual(400)
    expect(await db.membership.count({ where: { organizationId: org.id, role: "OWNER" } })).toBe(1)
  })

  it("offers the Change role control on the Members tab only where it is allowed, never while impersonating", async () => {
    const { org, owner, admin, member } = await organization()
    const choices = async (viewerId: number, impersonating = false) => {
      const page = await loadOrganizationPage({ viewerId, impersonating, organizationId: org.id })
      return Object.fromEntries(page!.members.map((m) => [m.userId, m.roleChoices]))
    }
    expect(await choices(owner.id)).toEqual({
      [owner.id]: [],
      [admin.id]: ["OWNER", "ADMIN", "MEMBER"],
      [member.id]: ["OWNER", "ADMIN", "MEMBER"],
    })
    expect(await choices(admin.id)).toEqual({ [owner.id]: [], [admin.id]: [], [member.id]: ["ADMIN", "MEMBER"] })
    expect(await choices(member.id)).toEqual({ [owner.id]: [], [admin.id]: [], [member.id]: [] })
    expect(await choices(owner.id, true)).toEqual({ [owner.id]: [], [admin.id]: [], [member.id]: [] })
  })
})

import { spawn } from "node:child_process"
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest"
import db from "db"
import { verifyAuditChain } from "app/audit/log"
import { REDACTED } from "app/audit/redact"
import { serverConfig } from "app/core/serverConfig"
import { PASSWORD, createOrganization, createUser, uniqueTag } from "test/helpers/fixtures"
import { signIn } from "test/helpers/session"
import { startSmtpServer } from "test/helpers/smtp"

/**
 * Rules 8 and 9, table-driven: every refused action and every Projects mutation, called by an
 * admin impersonating the user in read-only and in read-write mode, through the real RPC route.
 * Each call's answer, the data afterwards (unchanged, or changed and attributed to the admin)
 * and its one IMPERSONATED_MUTATION audit event (both identities, secrets redacted) are checked;
 * email is delivered to a real SMTP server on loopback, which must receive nothing from an
 * impersonation. The audit chain still verifies after the whole run.
 */

type Mode = "READ_ONLY" | "READ_WRITE"

let smtp: Awaited<ReturnType<typeof startSmtpServer>>
const mail = serverConfig.mail
const savedMail = { ...mail }

beforeAll(async () => {
  smtp = await startSmtpServer()
  mail.smtpUrl = smtp.url
})
afterAll(async () => {
  Object.assign(mail, savedMail)
  await smtp.close()
})
afterEach(() => {
  smtp.received.length = 0
})

/** A user (an admin of their organization, so that every action would be theirs to take), a teammate, a SUPPORT admin. */
async function fixture() {
  const org = await createOrganization("rails")
  const subject = await createUser({ label: "subject", organization: { id: org.id, role: "ADMIN" } })
  await db.user.update({ where: { id: subject.id }, data: { phone: "+1 555 0100 1234" } })
  const teammate = await createUser({ label: "teammate", organization: { id: org.id, role: "MEMBER" } })
  const admin = await createUser({ label: "support", role: "SUPPORT" })
  const project = await db.project.create({
    data: { name: "Roadmap", organizationId: org.id, ownerId: subject.id, changedById: subject.id },
  })
  const apiKey = await db.apiKey.create({
    data: { userId: subject.id, name: "Deploy", hashedKey: uniqueTag("hash"), lastChars: "a1b2" },
  })
  return { tag: uniqueTag("rails"), org, subject, teammate, admin, project, apiKey }
}
type Fixture = Awaited<ReturnType<typeof fixture>>

async function impersonate(f: Fixture, mode: Mode) {
  const browser = await signIn(f.admin)
  const res = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
    userId: f.subject.id,
    reason: "Ticket 7: reproduce the project bug",
    mode,
    ...(mode === "READ_WRITE" ? { password: PASSWORD } : {}),
  })
  expect(res.error).toBeNull()
  const impersonation = await db.impersonation.findUniqueOrThrow({ where: { id: res.result!.impersonationId } })
  expect(impersonation.mode).toBe(mode)
  return { browser, impersonationId: impersonation.id }
}

/** Everything any of the calls below could change, for the people of one fixture. */
async function snapshot(f: Fixture) {
  const people = [f.subject.id, f.teammate.id, f.admin.id]
  const [users, memberships, projects, shares, apiKeys, impersonations, outbox] = await Promise.all([
    db.user.findMany({
      where: { id: { in: people } },
      select: { id: true, email: true, name: true, hashedPassword: true, status: true, deletedAt: true, phone: true },
      orderBy: { id: "asc" },
    }),
    db.membership.findMany({ where: { organizationId: f.org.id }, select: { userId: true, role: true }, orderBy: { userId: "asc" } }),
    db.project.findMany({ where: { organizationId: f.org.id }, orderBy: { id: "asc" } }),
    db.projectMember.findMany({ where: { project: { organizationId: f.org.id } }, orderBy: { userId: "asc" } }),
    db.apiKey.findMany({ where: { userId: { in: people } }, orderBy: { id: "asc" } }),
    db.impersonation.findMany({ where: { actorId: f.admin.id }, select: { id: true, subjectId: true, endedAt: true }, orderBy: { id: "asc" } }),
    db.outboxMessage.findMany({ where: { OR: [{ actorId: f.admin.id }, { to: { in: [f.teammate.email, f.subject.email] } }] } }),
  ])
  return { users, memberships, projects, shares, apiKeys, impersonations, outbox }
}
type Snapshot = Awaited<ReturnType<typeof snapshot>>

type Row = {
  resolver: string
  /** Refused in every mode (the list in blitz.config.ts). */
  refusedAlways: boolean
  input: (f: Fixture) => Record<string, unknown>
  /** Input fields that are secrets and must be redacted in the audit event. */
  secrets?: string[]
  /** For the allowed ones (read-write): what changed, as the admin made it through the impersonation. */
  changed?: (f: Fixture, before: Snapshot, after: Snapshot) => void
}

const ROWS: Row[] = [
  {
    resolver: "changePassword",
    refusedAlways: true,
    input: () => ({ currentPassword: PASSWORD, newPassword: "a-brand-new-password-42" }),
    secrets: ["currentPassword", "newPassword"],
  },
  { resolver: "changeEmail", refusedAlways: true, input: (f) => ({ email: `${f.tag}@elsewhere.example` }) },
  { resolver: "deleteAccount", refusedAlways: true, input: () => ({ password: PASSWORD }), secrets: ["password"] },
  { resolver: "createApiKey", refusedAlways: true, input: () => ({ name: "Support's key" }) },
  {
    resolver: "changeMemberRole",
    refusedAlways: true,
    input: (f) => ({ organizationId: f.org.id, userId: f.teammate.id, role: "ADMIN" }),
  },
  {
    resolver: "impersonateUser",
    refusedAlways: true,
    input: (f) => ({ userId: f.teammate.id, reason: "nested", mode: "READ_WRITE", password: PASSWORD }),
    secrets: ["password"],
  },
  {
    resolver: "createProject",
    refusedAlways: false,
    input: () => ({ name: "Made during support" }),
    changed: (f, before, after) => {
      expect(after.projects).toHaveLength(before.projects.length + 1)
      const made = after.projects.at(-1)!
      expect(made).toMatchObject({ name: "Made during support", ownerId: f.subject.id, changedById: f.subject.id, changedByActorId: f.admin.id })
    },
  },
  {
    resolver: "renameProject",
    refusedAlways: false,
    input: (f) => ({ id: f.project.id, name: "Roadmap (renamed by support)" }),
    changed: (f, _before, after) => {
      expect(after.projects.find((p) => p.id === f.project.id)).toMatchObject({
        name: "Roadmap (renamed by support)",
        changedById: f.subject.id,
        changedByActorId: f.admin.id,
      })
    },
  },
  {
    resolver: "archiveProject",
    refusedAlways: false,
    input: (f) => ({ id: f.project.id }),
    changed: (f, _before, after) => {
      const project = after.projects.find((p) => p.id === f.project.id)!
      expect(project.archivedAt).toBeInstanceOf(Date)
      expect(project.changedByActorId).toBe(f.admin.id)
    },
  },
  {
    resolver: "shareProject",
    refusedAlways: false,
    input: (f) => ({ id: f.project.id, email: f.teammate.email }),
    changed: (f, before, after) => {
      expect(after.shares).toEqual([expect.objectContaining({ projectId: f.project.id, userId: f.teammate.id, changedByActorId: f.admin.id })])
      // The "shared with you" email is held for the admin's outbox, not delivered.
      const held = after.outbox.filter((m) => !before.outbox.some((b) => b.id === m.id))
      expect(held).toEqual([expect.objectContaining({ status: "HELD", to: f.teammate.email, actorId: f.admin.id, subjectId: f.subject.id })])
    },
  },
]

/** Everything but what the allowed call itself changed must be as it was. */
function withoutProjects(s: Snapshot) {
  return { ...s, projects: undefined, shares: undefined, outbox: undefined }
}

const CASES = (["READ_ONLY", "READ_WRITE"] as const).flatMap((mode) => ROWS.map((row) => ({ mode, ...row })))

describe("an impersonated session's mutations, by mode", () => {
  it.each(CASES)("$resolver in $mode", async ({ mode, resolver, refusedAlways, input, secrets = [], changed }) => {
    const f = await fixture()
    const { browser, impersonationId } = await impersonate(f, mode)
    const before = await snapshot(f)
    const args = input(f)

    const res = await browser.rpc(resolver, args)

    const after = await snapshot(f)
    const expectedCode = refusedAlways ? "IMPERSONATION_REFUSED_ACTION" : mode === "READ_ONLY" ? "IMPERSONATION_READ_ONLY" : null
    if (expectedCode) {
      expect(res.error).toMatchObject({ code: expectedCode, statusCode: 403 })
      expect(after).toEqual(before)
    } else {
      expect(res.error).toBeNull()
      changed!(f, before, after)
      expect(withoutProjects(after)).toEqual(withoutProjects(before))
    }
    expect(smtp.received).toHaveLength(0)

    // Exactly one attributed event, with the input's secrets redacted.
    const events = await db.auditEvent.findMany({ where: { impersonationId, action: "IMPERSONATED_MUTATION" } })
    expect(events).toHaveLength(1)
    const [event] = events
    expect(event).toMatchObject({ actorId: f.admin.id, subjectId: f.subject.id, impersonationId })
    const details = event!.details as { resolver: string; mode: string; outcome: string; code?: string; input: Record<string, unknown> }
    expect(details).toMatchObject({ resolver, mode, outcome: expectedCode ? "REFUSED" : "ALLOWED" })
    if (expectedCode) expect(details.code).toBe(expectedCode)
    for (const field of secrets) expect(details.input[field]).toBe(REDACTED)
    expect(JSON.stringify(details)).not.toContain(PASSWORD)
    for (const [field, value] of Object.entries(args)) {
      if (!secrets.includes(field)) expect(details.input[field]).toEqual(value)
    }
  })

  it("delivers the same email when the user shares the project themselves (no impersonation)", async () => {
    const f = await fixture()
    const browser = await signIn(f.subject)
    const res = await browser.rpc("shareProject", { id: f.project.id, email: f.teammate.email })
    expect(res.error).toBeNull()
    expect(smtp.received).toHaveLength(1)
    expect(smtp.received[0]!.to).toEqual([f.teammate.email.toLowerCase()])
    const rows = await db.outboxMessage.findMany({ where: { to: f.teammate.email } })
    expect(rows).toEqual([expect.objectContaining({ status: "SENT", actorId: null, impersonationId: null })])
    const share = await db.projectMember.findUniqueOrThrow({ where: { projectId_userId: { projectId: f.project.id, userId: f.teammate.id } } })
    expect(share.changedByActorId).toBeNull()
  })

  it("leaves an audit chain that `npm run audit:verify` accepts", async () => {
    const verdict = await verifyAuditChain()
    expect(verdict).toMatchObject({ ok: true })
    const databaseUrl = inject("databaseUrl")
    if (!databaseUrl) return // the embedded test database lives in this process's memory: verified above
    const child = spawn("npm", ["run", "-s", "audit:verify"], {
      cwd: process.cwd(),
      env: { ...process.env, DATABASE_URL: databaseUrl },
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(output).toContain("Audit chain verified")
    expect(code).toBe(0)
  })
})

describe("the gate itself", () => {
  it("rolls back a read-write call that fails and records it as FAILED", async () => {
    const f = await fixture()
    const { browser, impersonationId } = await impersonate(f, "READ_WRITE")
    const before = await snapshot(f)
    const res = await browser.rpc("renameProject", { id: f.project.id, name: "   " })
    expect(res.error).not.toBeNull()
    expect(await snapshot(f)).toEqual(before)
    const [event] = await db.auditEvent.findMany({ where: { impersonationId, action: "IMPERSONATED_MUTATION" } })
    expect(event!.details).toMatchObject({ resolver: "renameProject", outcome: "FAILED" })
  })

  it("keeps the real phone number out of every response while impersonating", async () => {
    const f = await fixture()
    const { browser } = await impersonate(f, "READ_WRITE")
    const res = await browser.rpc("getSettings")
    expect(res.error).toBeNull()
    const body = await res.raw.clone().text()
    expect(body).toContain("•••• 1234")
    expect(body).not.toContain("0100")
    expect(body).not.toContain("a1b2")
    // The user's own session sees it.
    const own = await signIn(f.subject)
    const ownBody = await (await own.rpc("getSettings")).raw.clone().text()
    expect(ownBody).toContain("+1 555 0100 1234")
  })

  it("refuses a mutation in read-only mode even when it does not exist yet in the refused list", async () => {
    const f = await fixture()
    const { browser, impersonationId } = await impersonate(f, "READ_ONLY")
    const res = await browser.rpc("revokeApiKey", { id: f.apiKey.id })
    expect(res.error).toMatchObject({ code: "IMPERSONATION_READ_ONLY" })
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: f.apiKey.id } })).revokedAt).toBeNull()
    expect(await db.auditEvent.count({ where: { impersonationId, action: "IMPERSONATED_MUTATION" } })).toBe(1)
  })

  it("records a hostile body (NUL, a lone surrogate) storably and still answers with the refusal", async () => {
    const f = await fixture()
    const { browser, impersonationId } = await impersonate(f, "READ_ONLY")
    const res = await browser.rpcRaw(
      "deleteAccount",
      JSON.stringify({ params: { password: "p\u0000", "\u0000": 1, x: "\ud800" }, meta: { params: null } }),
    )
    expect(res.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION" })
    const [event] = await db.auditEvent.findMany({ where: { impersonationId, action: "IMPERSONATED_MUTATION" } })
    expect(event!.details).toMatchObject({ input: { password: REDACTED, "\uFFFD": 1, x: "\uFFFD" } })
  })

  it("keeps a phone typed in read-write out of the audit log, and refuses creating an account read-only", async () => {
    const f = await fixture()
    const rw = await impersonate(f, "READ_WRITE")
    expect((await rw.browser.rpc("updateProfile", { name: "Uma", phone: "+1 555 000 9999" })).error).toBeNull()
    const [event] = await db.auditEvent.findMany({ where: { impersonationId: rw.impersonationId, action: "IMPERSONATED_MUTATION" } })
    expect(event!.details).toMatchObject({ outcome: "ALLOWED", input: { phone: REDACTED } })
    expect(JSON.stringify(event!.details)).not.toContain("9999")

    const g = await fixture()
    const ro = await impersonate(g, "READ_ONLY")
    const email = `${uniqueTag("signup")}@fixture.example`
    const res = await ro.browser.rpc("signup", { name: "New", email, password: "a-long-password-1" })
    expect(res.error).toMatchObject({ code: "IMPERSONATION_READ_ONLY" })
    expect(await db.user.count({ where: { email } })).toBe(0)
  })

  it("lets Stop through in read-only mode, unaudited as a mutation", async () => {
    const f = await fixture()
    const { browser, impersonationId } = await impersonate(f, "READ_ONLY")
    const res = await browser.rpc("stopImpersonating", {})
    expect(res.error).toBeNull()
    expect((await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).endReason).toBe("STOPPED")
    expect(await db.auditEvent.count({ where: { impersonationId, action: "IMPERSONATED_MUTATION" } })).toBe(0)
  })
})

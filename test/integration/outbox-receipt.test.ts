import { afterAll, beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { sealPendingAuditEvents } from "app/audit/log"
import { serverConfig } from "app/core/serverConfig"
import { periodicTasks, runOutboxPass, startOutboxWorker } from "mailers/worker"
import { PASSWORD, createOrganization, createUser } from "test/helpers/fixtures"
import { signIn, stop } from "test/helpers/session"
import { startSmtpServer } from "test/helpers/smtp"

/**
 * Item 5: when an impersonation ends, its user receives a receipt, written to the outbox in the
 * transaction of the IMPERSONATION_ENDED event and delivered by the worker, once, through a real
 * SMTP server on a loopback port.
 */

let smtp: Awaited<ReturnType<typeof startSmtpServer>>
const savedMail = { ...serverConfig.mail }

beforeAll(async () => {
  smtp = await startSmtpServer()
  serverConfig.mail.smtpUrl = smtp.url
  serverConfig.mail.from = "Acme Support <support@acme.example>"
})

afterAll(async () => {
  Object.assign(serverConfig.mail, savedMail)
  await smtp.close()
})

/** Runs passes until nothing is due (on PostgreSQL other files' receipts may be waiting too). */
async function drainOutbox() {
  await sealPendingAuditEvents() // what events send is queued when they are sealed
  for (let pass = 0; pass < 1000; pass++) {
    if ((await runOutboxPass()).claimed === 0) return
  }
  throw new Error("The outbox did not drain")
}

/** Messages the SMTP server received for `address`, bodies unwrapped (quoted-printable soft breaks). */
function receivedBy(address: string) {
  return smtp.received
    .filter((message) => message.to.includes(address.toLowerCase()))
    .map((message) => ({ ...message, body: message.raw.replace(/=\r?\n/g, "").replace(/=3D/g, "=") }))
}

describe("the receipt of an ended impersonation", () => {
  it("arrives once, to the user, with who, organization, reason, ticket, mode, counts and how it ended", async () => {
    const org = await createOrganization("receipt")
    const admin = await createUser({ label: "org-admin", organization: { id: org.id, role: "ADMIN" } })
    const member = await createUser({ label: "member", organization: { id: org.id, role: "MEMBER" } })
    await db.user.update({ where: { id: member.id }, data: { phone: "+1 555 0100 4242" } })

    const browser = await signIn(admin)
    const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
      userId: member.id,
      reason: "Ticket 4521: the export fails",
      ticketUrl: "https://tickets.example.com/4521",
      mode: "READ_WRITE",
      password: PASSWORD,
    })
    expect(started.error).toBeNull()
    const impersonationId = started.result!.impersonationId
    // Two changes, one refused action (not a change), one reveal.
    expect((await browser.rpc("updateProfile", { name: "Renamed once" })).error).toBeNull()
    expect((await browser.rpc("updateProfile", { name: "Renamed twice" })).error).toBeNull()
    expect((await browser.rpc("changePassword", { currentPassword: PASSWORD, newPassword: "x-new-password-99" })).error).not.toBeNull()
    expect((await browser.rpc("revealSensitiveField", { field: "User.phone", reason: "Checking the number on file" })).error).toBeNull()
    await stop(browser)

    // Queued when the end's event is sealed (app/audit/sealer.ts), not sent by it.
    await sealPendingAuditEvents()
    const ended = await db.auditEvent.findFirstOrThrow({ where: { impersonationId, action: "IMPERSONATION_ENDED" } })
    const queued = await db.outboxMessage.findMany({ where: { auditEventId: ended.id, kind: "EMAIL" } })
    expect(queued).toMatchObject([{ status: "PENDING", to: member.email, attempts: 0 }])
    expect(receivedBy(member.email)).toHaveLength(0)

    await drainOutbox()
    await drainOutbox()
    const mail = receivedBy(member.email)
    expect(mail).toHaveLength(1)
    expect(mail[0]!.to).toEqual([member.email.toLowerCase()])
    expect(mail[0]!.body).toContain("Subject: Support accessed your account")
    for (const fact of [
      `Who: ${admin.name} (${admin.email})`,
      `Organization: ${org.name}`,
      'Reason given: "Ticket 4521: the export fails"',
      "Ticket: https://tickets.example.com/4521",
      "Mode: Read-write",
      "Changes made: 2 changes",
      "Sensitive fields revealed: 1 field",
      "How it ended: The support person stopped it.",
      "/account/security",
    ]) {
      expect(mail[0]!.body).toContain(fact)
    }
    expect(mail[0]!.body).toMatch(/Started: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/)
    expect(mail[0]!.body).toMatch(/Duration: \d+ seconds?/)
    const sent = await db.outboxMessage.findUniqueOrThrow({ where: { id: queued[0]!.id } })
    expect(sent).toMatchObject({ status: "SENT", attempts: 1, lastError: null })
    expect(sent.sentAt).toBeInstanceOf(Date)
  })

  it("names the end reason when the admin's time runs out (EXPIRED), read-only, no changes", async () => {
    const staff = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "plain" })
    const browser = await signIn(staff)
    const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", { userId: user.id, reason: "Looking at settings" })
    expect(started.error).toBeNull()
    const impersonationId = started.result!.impersonationId
    // Its time is up: the guard ends it at the next request.
    await db.impersonation.update({ where: { id: impersonationId }, data: { expiresAt: new Date(Date.now() - 1000) } })
    await browser.rpc("getCurrentUser")
    expect((await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })).endReason).toBe("EXPIRED")
    await drainOutbox()
    const mail = receivedBy(user.email)
    expect(mail).toHaveLength(1)
    expect(mail[0]!.body).toContain("How it ended: It reached its time limit.")
    expect(mail[0]!.body).toContain("Mode: Read-only")
    expect(mail[0]!.body).toContain("Changes made: 0 changes")
    expect(mail[0]!.body).not.toContain("Organization:")
  })

  it("is not sent to an account that was deleted", async () => {
    const staff = await createUser({ label: "support", role: "SUPPORT" })
    const user = await createUser({ label: "leaving" })
    const browser = await signIn(staff)
    const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", { userId: user.id, reason: "Before deletion" })
    expect(started.error).toBeNull()
    await db.user.update({ where: { id: user.id }, data: { deletedAt: new Date() } })
    await stop(browser)
    const ended = await db.auditEvent.findFirstOrThrow({
      where: { impersonationId: started.result!.impersonationId, action: "IMPERSONATION_ENDED" },
    })
    await sealPendingAuditEvents()
    expect(await db.outboxMessage.count({ where: { auditEventId: ended.id, kind: "EMAIL" } })).toBe(0)
    await drainOutbox()
    expect(receivedBy(user.email)).toHaveLength(0)
  })

  it("an event that sends nothing (a sign-in) writes no outbox row", async () => {
    const user = await createUser({ label: "signing-in" })
    await signIn(user)
    const event = await db.auditEvent.findFirstOrThrow({ where: { action: "SIGNED_IN", actorId: user.id }, orderBy: { id: "desc" } })
    expect(await db.outboxMessage.count({ where: { auditEventId: event.id } })).toBe(0)
  })
})

describe("the worker loop (as each server process runs it)", () => {
  it("delivers a receipt without being asked, and stops when told", async () => {
    const worker = startOutboxWorker({ pollMs: 50 })
    try {
      const staff = await createUser({ label: "support", role: "SUPPORT" })
      const user = await createUser({ label: "looped" })
      const browser = await signIn(staff)
      expect((await browser.rpc("impersonateUser", { userId: user.id, reason: "Loop check" })).error).toBeNull()
      await stop(browser)
      const deadline = Date.now() + 20_000
      while (receivedBy(user.email).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(receivedBy(user.email)).toHaveLength(1)
    } finally {
      await worker.stop()
    }
  })

  it("runs the periodic tasks (the hook for housekeeping); a failing one does not stop the pass", async () => {
    const runs: Date[] = []
    periodicTasks.push(
      { name: "test: failing task", everyMs: 60_000, run: async () => Promise.reject(new Error("boom")) },
      { name: "test: counting task", everyMs: 60_000, run: async (now) => runs.push(now) },
    )
    try {
      const now = new Date()
      await expect(runOutboxPass({ now })).resolves.toMatchObject({ claimed: expect.any(Number) })
      await runOutboxPass({ now: new Date(now.getTime() + 1000) }) // not due again yet
      expect(runs).toEqual([now])
    } finally {
      periodicTasks.splice(-2, 2)
    }
  })
})

import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { serverConfig } from "app/core/serverConfig"
import { deliverEmail, listPreviewEmails } from "mailers/mailer"
import { startSmtpServer, type Received } from "test/helpers/smtp"

/** The mail layer against a real SMTP server on a loopback port, and its preview folder. */

let smtp: Awaited<ReturnType<typeof startSmtpServer>>
let received: Received[] = []
let port = 0
const mail = serverConfig.mail
const saved = { ...mail }

beforeAll(async () => {
  smtp = await startSmtpServer()
  received = smtp.received
  port = smtp.port
})

afterAll(() => smtp.close())
afterEach(() => {
  Object.assign(mail, saved)
  received.length = 0
})

describe("deliverEmail", () => {
  it("delivers through SMTP_URL once, to the recipient, with subject and body", async () => {
    mail.smtpUrl = `smtp://127.0.0.1:${port}`
    mail.from = "Acme Support <support@acme.example>"
    const delivery = await deliverEmail({
      to: "Uma.User@Example.com",
      subject: "Support accessed your account",
      text: "Sky Support was in your account from 10:00 to 10:12 UTC. Reason: ticket 4521.",
    })
    expect(delivery.via).toBe("smtp")
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({ from: "support@acme.example", to: ["uma.user@example.com"] })
    expect(received[0]!.raw).toContain("Subject: Support accessed your account")
    // Quoted-printable wraps long lines with soft breaks ("=" at a line's end).
    expect(received[0]!.raw.replace(/=\r?\n/g, "")).toContain("Reason: ticket 4521.")
  })

  it("without SMTP_URL writes the message to the preview folder, which lists it, and sends nothing", async () => {
    mail.smtpUrl = null
    mail.previewDir = fs.mkdtempSync(path.join(os.tmpdir(), "mail-preview-"))
    const delivery = await deliverEmail({ to: "user@example.com", subject: "Project shared with you", text: "Hello" })
    expect(delivery.via).toBe("preview")
    expect(received).toHaveLength(0)
    expect(fs.readFileSync((delivery as { file: string }).file, "utf8")).toContain("Hello")
    expect(listPreviewEmails()).toMatchObject([{ to: "user@example.com", subject: "Project shared with you" }])
  })

  it.each([
    ["a header injection in the subject", { to: "user@example.com", subject: "Hi\r\nBcc: victim@example.com", text: "x" }],
    ["a bad address", { to: "not an address", subject: "Hi", text: "x" }],
    ["a NUL in the body", { to: "user@example.com", subject: "Hi", text: "a\u0000b" }],
    ["an empty subject", { to: "user@example.com", subject: "  ", text: "x" }],
  ])("refuses %s and delivers nothing", async (_label, input) => {
    mail.smtpUrl = `smtp://127.0.0.1:${port}`
    await expect(deliverEmail(input)).rejects.toThrow()
    expect(received).toHaveLength(0)
  })
})

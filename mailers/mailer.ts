import crypto from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import nodemailer from "nodemailer"
import { z } from "zod"
import { email } from "app/auth/schemas"
import { log } from "app/core/log"
import { serverConfig } from "app/core/serverConfig"
import { safeText } from "app/core/text"

/**
 * The app's one way to send email. With SMTP_URL set, messages go to that server; without it
 * they are written as .eml files to the preview folder (MAIL_PREVIEW_DIR, default
 * .data/mail-preview), which a page can list. Impersonation receipts and held side effects
 * (later issues) send through here.
 */

const oneLine = safeText().refine((value) => !/[\r\n]/.test(value), "must be one line")

export const OutgoingEmail = z
  .object({
    to: email,
    subject: oneLine.trim().min(1, "An email needs a subject").max(200, "The subject is too long"),
    text: safeText().min(1, "An email needs a body").max(100_000, "The body is too long"),
  })
  .strict()
export type OutgoingEmail = z.input<typeof OutgoingEmail>

export type Delivery =
  | { via: "smtp"; messageId: string }
  | { via: "preview"; file: string; messageId: string }

export function previewDirectory(): string {
  return serverConfig.mail.previewDir ?? path.join(process.cwd(), ".data", "mail-preview")
}

/**
 * Delivers one email (validated first: a bad address or header never reaches a server).
 * `timeoutMs` bounds each SMTP step (connect, greeting, socket idle): the outbox worker keeps
 * it under its lease so that a slow server cannot make two workers send the same message.
 */
export async function deliverEmail(input: OutgoingEmail, { timeoutMs }: { timeoutMs?: number } = {}): Promise<Delivery> {
  const message = { ...OutgoingEmail.parse(input), from: serverConfig.mail.from }
  const { smtpUrl } = serverConfig.mail
  if (smtpUrl) {
    const timeouts = timeoutMs ? { connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs } : {}
    const transport = nodemailer.createTransport({ url: smtpUrl, ...timeouts })
    try {
      const info = await transport.sendMail(message)
      log.info({ mail: { via: "smtp", messageId: info.messageId } }, "Email delivered")
      return { via: "smtp", messageId: info.messageId }
    } finally {
      transport.close()
    }
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" })
  const info = await transport.sendMail(message)
  const dir = previewDirectory()
  fs.mkdirSync(dir, { recursive: true })
  const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${crypto.randomBytes(4).toString("hex")}.eml`
  const file = path.join(dir, name)
  fs.writeFileSync(file, info.message as Buffer, { mode: 0o600 })
  log.info({ mail: { via: "preview", file: name } }, "Email written to the preview folder (no SMTP_URL)")
  return { via: "preview", file, messageId: info.messageId }
}

export type PreviewEmail = { file: string; to: string; subject: string; date: string }

/** The preview folder's messages, newest first (headers only), for a page that lists them. */
export function listPreviewEmails(limit = 100): PreviewEmail[] {
  const dir = previewDirectory()
  if (!fs.existsSync(dir)) return []
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".eml"))
    .sort()
    .reverse()
    .slice(0, limit)
    .map((name) => {
      const head = fs.readFileSync(path.join(dir, name), "utf8").split("\n\n")[0] ?? ""
      const header = (key: string) => head.match(new RegExp(`^${key}: (.*)$`, "mi"))?.[1]?.trim() ?? ""
      return { file: name, to: header("To"), subject: header("Subject"), date: header("Date") }
    })
}

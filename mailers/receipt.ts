import { quotedLine } from "app/core/text"
import type { EndReason } from "app/impersonation/policy"
import { modeLabel } from "app/impersonation/modes"

/**
 * The receipt a user receives when an impersonation of their account ends: the same facts as
 * their access history (who, organization, when, how long, why, ticket, mode, changes and
 * reveals, how it ended). Plain text, times in UTC.
 */

/** How an impersonation ended, in words for the person whose account it was. */
export const END_REASON_WORDS: Record<EndReason, string> = {
  STOPPED: "The support person stopped it.",
  EXPIRED: "It reached its time limit.",
  REPLACED: "The support person started another impersonation.",
  SIGNED_OUT: "The support person signed out.",
  ACTOR_REVOKED: "The support person's access rights changed.",
  TARGET_REVOKED: "Your account's access settings changed.",
  ENDED_BY_ADMIN: "Another administrator ended it.",
  FEATURE_DISABLED: "Support access was switched off for the whole service.",
  PASSWORD_CHANGED: "The support person changed their password.",
  ENDED_BY_USER: "You ended it.",
}

export function endReasonInWords(reason: unknown): string {
  return typeof reason === "string" && reason in END_REASON_WORDS
    ? END_REASON_WORDS[reason as EndReason]
    : "It ended."
}

/** "2026-12-06 10:00:05 UTC": the same text whatever the reader's zone. */
export function formatUtc(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`
}

/** "12 minutes", "1 hour 5 minutes", "40 seconds". */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000))
  if (totalSeconds < 60) return `${totalSeconds} second${totalSeconds === 1 ? "" : "s"}`
  const totalMinutes = Math.round(totalSeconds / 60)
  const hours = Math.floor(totalMinutes / 60)
  const minutes = totalMinutes % 60
  const parts = []
  if (hours) parts.push(`${hours} hour${hours === 1 ? "" : "s"}`)
  if (minutes || !hours) parts.push(`${minutes} minute${minutes === 1 ? "" : "s"}`)
  return parts.join(" ")
}

export type ReceiptFacts = {
  user: { name: string; email: string }
  admin: { name: string; email: string }
  organization: string | null
  startedAt: Date
  endedAt: Date
  reason: string
  ticketUrl: string | null
  mode: string
  changes: number
  reveals: number
  endReason: string
  /** Where the Security page is: an absolute link when APP_ORIGIN is set, else its path. */
  securityPage: string
}

export function receiptEmail(facts: ReceiptFacts): { to: string; subject: string; text: string } {
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`
  const lines = [
    `Hello ${facts.user.name},`,
    "",
    `${facts.admin.name} (${facts.admin.email}) from support accessed your account. The access has ended.`,
    "",
    `Who: ${facts.admin.name} (${facts.admin.email})`,
    ...(facts.organization ? [`Organization: ${facts.organization}`] : []),
    `Started: ${formatUtc(facts.startedAt)}`,
    `Ended: ${formatUtc(facts.endedAt)}`,
    `Duration: ${formatDuration(facts.endedAt.getTime() - facts.startedAt.getTime())}`,
    `Reason given: ${quotedLine(facts.reason)}`,
    `Ticket: ${facts.ticketUrl ?? "none"}`,
    `Mode: ${modeLabel(facts.mode) ?? facts.mode}`,
    `Changes made: ${count(facts.changes, "change", "changes")}`,
    `Sensitive fields revealed: ${count(facts.reveals, "field", "fields")}`,
    `How it ended: ${endReasonInWords(facts.endReason)}`,
    "",
    `Every access to your account is listed under "Access history" on your Security page: ${facts.securityPage}`,
    "There you can also choose whether support may access your account, or must ask you first.",
  ]
  return { to: facts.user.email, subject: "Support accessed your account", text: lines.join("\n") }
}

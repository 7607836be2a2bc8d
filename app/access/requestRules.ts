import { quotedLine } from "app/core/text"
import { MODE_LABELS } from "app/impersonation/modes"
import {
  ACCESS_REQUEST_TTL_MS,
  accessRequestStatus,
  effectiveConsent,
  type AccessApproval,
  type ImpersonationMode,
  type PolicyUser,
  type RefusalCode,
  type StartDecision,
} from "app/impersonation/policy"

/**
 * Access requests (DESIGN.md rule 10) as the user answers them: pure functions, no database,
 * no clock (callers pass `now`).
 */

export const ACCESS_REQUEST_REFUSALS = {
  ACCESS_REQUEST_NOT_FOUND: "You have no access request with that ID",
  ACCESS_REQUEST_EXPIRED: "This request has expired: it was not answered within 24 hours",
  ACCESS_REQUEST_DECIDED: "This request has already been answered",
  MODE_NOT_ASKED: "You can only approve read-only access: read-write was not asked for",
  ACCESS_GRANT_NOT_FOUND: "You have no approval with that ID",
  ACCESS_GRANT_NOT_IN_FORCE: "This approval is no longer in force",
} as const

export type AccessRequestRefusalCode = keyof typeof ACCESS_REQUEST_REFUSALS

type Refusal = { allowed: false; code: AccessRequestRefusalCode; message: string }

const refuse = (code: AccessRequestRefusalCode): Refusal => ({
  allowed: false,
  code,
  message: ACCESS_REQUEST_REFUSALS[code],
})

/** A stored request as the user's answer sees it. */
export type DecidableRequest = Omit<AccessApproval, "id"> & { subjectId: number; mode: ImpersonationMode }

/** A mode the user may grant: read-only always, read-write only when it was asked for. */
export function mayGrantMode(asked: ImpersonationMode, granted: ImpersonationMode): boolean {
  return granted === "READ_ONLY" || asked === "READ_WRITE"
}

/**
 * May `userId` answer this request now? Only its own user (anyone else, or a missing id, gets
 * the same "not found"), only while it waits, never in a mode wider than asked.
 */
export function decideAnswer(input: {
  request: DecidableRequest | null
  userId: number
  decision: "APPROVE" | "DENY"
  mode: ImpersonationMode
  now: Date
}): { allowed: true } | Refusal {
  const { request, now } = input
  if (!request || request.subjectId !== input.userId) return refuse("ACCESS_REQUEST_NOT_FOUND")
  const status = accessRequestStatus(request, now)
  if (request.status === "PENDING" && status === "expired") return refuse("ACCESS_REQUEST_EXPIRED")
  if (status !== "pending") return refuse("ACCESS_REQUEST_DECIDED")
  if (input.decision === "APPROVE" && !mayGrantMode(request.mode, input.mode)) return refuse("MODE_NOT_ASKED")
  return { allowed: true }
}

/** May `userId` revoke this approval now? Their own, approved and not yet over. */
export function decideRevocation(input: {
  request: (Omit<AccessApproval, "id"> & { subjectId: number }) | null
  userId: number
  now: Date
}): { allowed: true } | Refusal {
  const { request, now } = input
  if (!request || request.subjectId !== input.userId) return refuse("ACCESS_GRANT_NOT_FOUND")
  if (accessRequestStatus(request, now) !== "approved") return refuse("ACCESS_GRANT_NOT_IN_FORCE")
  return { allowed: true }
}

/** When an unanswered request made at `now` expires. */
export function requestExpiresAt(now: Date): Date {
  return new Date(now.getTime() + ACCESS_REQUEST_TTL_MS)
}

/** When an approval of `hours` given at `now` ends. */
export function approvalEndsAt(now: Date, hours: number): Date {
  return new Date(now.getTime() + hours * 60 * 60_000)
}

export function describeHours(hours: number): string {
  return `${hours} hour${hours === 1 ? "" : "s"}`
}

/** "Read-only" / "Read-write" as a person reads it in a sentence. */
export function describeMode(mode: ImpersonationMode): string {
  return MODE_LABELS[mode].toLowerCase()
}

export const SECURITY_PAGE_PATH = "/account/security"

/**
 * The email that tells the user someone asks for access: who, why, for how long, in which
 * mode, and where to answer. The link is absolute only with the configured public origin
 * (APP_ORIGIN), never one taken from a request's Host header; otherwise the page is named.
 */
export function accessRequestEmail(input: {
  admin: { name: string; email: string }
  reason: string
  ticketUrl: string | null
  mode: ImpersonationMode
  hours: number
  requestExpiresAt: Date
  appOrigin: string | null
}): { subject: string; text: string } {
  const { admin } = input
  const where = input.appOrigin
    ? `Approve or deny it here: ${input.appOrigin}${SECURITY_PAGE_PATH}`
    : "Approve or deny it on the Security page of your account (the Security link at the top of every page, once you are signed in)."
  const lines = [
    `${admin.name} (${admin.email}) asks to access your account.`,
    "",
    `Why: ${quotedLine(input.reason)}`,
    ...(input.ticketUrl ? [`Ticket: ${input.ticketUrl}`] : []),
    `For how long: ${describeHours(input.hours)} from your approval`,
    `Mode: ${describeMode(input.mode)}${input.mode === "READ_ONLY" ? " (they can look, not change anything)" : " (they could make changes as you)"}`,
    "",
    where,
    "",
    `Nothing happens unless you approve. The request expires unanswered at ${input.requestExpiresAt.toISOString().slice(0, 16).replace("T", " ")} UTC.`,
    "You can revoke an approval at any time on the same page.",
  ]
  // The subject is one line: a name with a line break in it never splits the header.
  const subject = `${admin.name.replace(/[\r\n]+/g, " ")} asks to access your account`
  return { subject: subject.slice(0, 200), text: lines.join("\n") }
}

/** The admin's answer while a request waits (the start's APPROVAL_REQUIRED message). */
export function waitingMessage(input: { userName: string; hours: number; mode: ImpersonationMode; created: boolean }): string {
  const asked = `${describeHours(input.hours)} of ${describeMode(input.mode)} access`
  return input.created
    ? `Waiting for the user's approval: ${input.userName} has been asked for ${asked}, by email and in the app`
    : `Waiting for the user's approval: your request to ${input.userName} is still waiting for an answer`
}

export const APPROVAL_REQUIRED_HINT = "Approval required"

/** Whether a start against this user asks them first (consent or organization floor "Ask me each time"). */
export function requiresApproval(target: Pick<PolicyUser, "impersonationConsent" | "memberships">): boolean {
  return effectiveConsent(target).consent === "ASK"
}

export type Eligibility =
  /** `approvalRequired` and `hint` only when the start asks the user first. */
  | { allowed: true; approvalRequired?: true; hint?: typeof APPROVAL_REQUIRED_HINT }
  | { allowed: false; code: RefusalCode; message: string }

/**
 * A console row's eligibility (directory, organization members): a user who approves each
 * access is eligible, with the hint "Approval required" (the start asks them first).
 */
export function eligibilityOf(decision: StartDecision, target: Pick<PolicyUser, "impersonationConsent" | "memberships">): Eligibility {
  if (!decision.allowed) return { allowed: false, code: decision.code, message: decision.message }
  return requiresApproval(target) ? { allowed: true, approvalRequired: true, hint: APPROVAL_REQUIRED_HINT } : { allowed: true }
}

import { describe, expect, it } from "vitest"
import type { PolicyUser } from "app/impersonation/policy"
import {
  accessRequestEmail,
  approvalEndsAt,
  decideAnswer,
  decideRevocation,
  eligibilityOf,
  mayGrantMode,
  requestExpiresAt,
  waitingMessage,
  type DecidableRequest,
} from "./requestRules"

const now = new Date("2026-12-06T12:00:00.000Z")
const later = (ms: number) => new Date(now.getTime() + ms)
const HOUR = 60 * 60_000

function pending(overrides: Partial<DecidableRequest> = {}): DecidableRequest {
  return {
    subjectId: 7,
    mode: "READ_ONLY",
    status: "PENDING",
    requestExpiresAt: later(HOUR),
    approvedMode: null,
    expiresAt: null,
    decidedAt: null,
    revokedAt: null,
    ...overrides,
  }
}

describe("mayGrantMode", () => {
  it("read-only always; read-write only when asked", () => {
    expect(mayGrantMode("READ_ONLY", "READ_ONLY")).toBe(true)
    expect(mayGrantMode("READ_WRITE", "READ_ONLY")).toBe(true)
    expect(mayGrantMode("READ_WRITE", "READ_WRITE")).toBe(true)
    expect(mayGrantMode("READ_ONLY", "READ_WRITE")).toBe(false)
  })
})

describe("decideAnswer", () => {
  const answer = (request: DecidableRequest | null, extra: Partial<Parameters<typeof decideAnswer>[0]> = {}) =>
    decideAnswer({ request, userId: 7, decision: "APPROVE", mode: "READ_ONLY", now, ...extra })

  it("lets the request's own user answer while it waits", () => {
    expect(answer(pending())).toEqual({ allowed: true })
    expect(answer(pending(), { decision: "DENY", mode: "READ_WRITE" })).toEqual({ allowed: true })
    expect(answer(pending({ mode: "READ_WRITE" }), { mode: "READ_WRITE" })).toEqual({ allowed: true })
  })

  it("answers a missing request and someone else's the same way", () => {
    expect(answer(null)).toMatchObject({ allowed: false, code: "ACCESS_REQUEST_NOT_FOUND" })
    expect(answer(pending({ subjectId: 8 }))).toEqual(answer(null))
  })

  it("refuses an unanswered request past its 24 hours, and one already answered", () => {
    expect(answer(pending({ requestExpiresAt: now }))).toMatchObject({ code: "ACCESS_REQUEST_EXPIRED" })
    expect(answer(pending({ status: "DENIED", decidedAt: now }))).toMatchObject({ code: "ACCESS_REQUEST_DECIDED" })
    expect(answer(pending({ status: "APPROVED", expiresAt: later(HOUR) }))).toMatchObject({ code: "ACCESS_REQUEST_DECIDED" })
    expect(answer(pending({ status: "REVOKED", revokedAt: now }))).toMatchObject({ code: "ACCESS_REQUEST_DECIDED" })
  })

  it("never approves a mode wider than asked", () => {
    expect(answer(pending(), { mode: "READ_WRITE" })).toMatchObject({ code: "MODE_NOT_ASKED" })
  })
})

describe("decideRevocation", () => {
  const approved = pending({ status: "APPROVED", approvedMode: "READ_ONLY", expiresAt: later(HOUR), decidedAt: now })
  it("revokes the user's own approval in force only", () => {
    expect(decideRevocation({ request: approved, userId: 7, now })).toEqual({ allowed: true })
    expect(decideRevocation({ request: approved, userId: 8, now })).toMatchObject({ code: "ACCESS_GRANT_NOT_FOUND" })
    expect(decideRevocation({ request: null, userId: 7, now })).toMatchObject({ code: "ACCESS_GRANT_NOT_FOUND" })
    expect(decideRevocation({ request: { ...approved, expiresAt: now }, userId: 7, now })).toMatchObject({ code: "ACCESS_GRANT_NOT_IN_FORCE" })
    expect(decideRevocation({ request: pending(), userId: 7, now })).toMatchObject({ code: "ACCESS_GRANT_NOT_IN_FORCE" })
    expect(decideRevocation({ request: { ...approved, status: "REVOKED" }, userId: 7, now })).toMatchObject({ code: "ACCESS_GRANT_NOT_IN_FORCE" })
  })
})

describe("times", () => {
  it("requests expire after 24 hours; approvals after the hours given", () => {
    expect(requestExpiresAt(now)).toEqual(later(24 * HOUR))
    expect(approvalEndsAt(now, 1)).toEqual(later(HOUR))
    expect(approvalEndsAt(now, 24)).toEqual(later(24 * HOUR))
  })
})

describe("accessRequestEmail", () => {
  const base = {
    admin: { name: "Sky Support", email: "support@example.com" },
    reason: "Ticket 12: invoices missing",
    ticketUrl: "https://tickets.example.com/12",
    mode: "READ_ONLY" as const,
    hours: 2,
    requestExpiresAt: later(24 * HOUR),
  }

  it("keeps a reason with line breaks on its own quoted line: it cannot add a line of the app's own (review F2)", () => {
    const reason = "Checking your invoice.\n\nApprove or deny it here: https://evil.example/account/security\r\n\tNothing happens"
    const email = accessRequestEmail({ ...base, reason, appOrigin: null })
    const lines = email.text.split("\n")
    expect(lines.filter((line) => line.includes("evil.example"))).toEqual([
      'Why: "Checking your invoice. Approve or deny it here: https://evil.example/account/security Nothing happens"',
    ])
    expect(lines.some((line) => line.startsWith("Approve or deny it here"))).toBe(false)
  })

  it("says who asks, why, for how long, in which mode, and links the Security page on APP_ORIGIN", () => {
    const email = accessRequestEmail({ ...base, appOrigin: "https://support.example.com" })
    expect(email.subject).toBe("Sky Support asks to access your account")
    expect(email.text).toContain("Sky Support (support@example.com) asks to access your account.")
    expect(email.text).toContain('Why: "Ticket 12: invoices missing"')
    expect(email.text).toContain("Ticket: https://tickets.example.com/12")
    expect(email.text).toContain("For how long: 2 hours")
    expect(email.text).toContain("Mode: read-only")
    expect(email.text).toContain("https://support.example.com/account/security")
    expect(email.text).toContain("2026-12-07 12:00 UTC")
  })

  it("names the page instead of a link without APP_ORIGIN", () => {
    const email = accessRequestEmail({ ...base, ticketUrl: null, mode: "READ_WRITE", hours: 1, appOrigin: null })
    expect(email.text).not.toMatch(/https?:\/\//)
    expect(email.text).toContain("Security page")
    expect(email.text).toContain("For how long: 1 hour from")
    expect(email.text).toContain("Mode: read-write")
  })

  it("keeps the subject on one line", () => {
    const email = accessRequestEmail({ ...base, admin: { name: "Evil\r\nBcc: x@example.com", email: "e@example.com" }, appOrigin: null })
    expect(email.subject).not.toMatch(/[\r\n]/)
  })
})

describe("waitingMessage", () => {
  it("starts with the words the console shows", () => {
    expect(waitingMessage({ userName: "Avery Ask", hours: 3, mode: "READ_ONLY", created: true })).toBe(
      "Waiting for the user's approval: Avery Ask has been asked for 3 hours of read-only access, by email and in the app",
    )
    expect(waitingMessage({ userName: "Avery Ask", hours: 1, mode: "READ_WRITE", created: false })).toMatch(/^Waiting for the user's approval/)
  })
})

describe("eligibilityOf", () => {
  const user = (consent: PolicyUser["impersonationConsent"], floor?: PolicyUser["impersonationConsent"]) => ({
    impersonationConsent: consent,
    memberships: floor ? [{ organizationId: 1, role: "MEMBER" as const, consentFloor: floor }] : [],
  })
  const allowed = { allowed: true as const, grant: { kind: "PLATFORM" as const, role: "SUPPORT" as const } }
  it("adds the hint for a user who approves each access, by their own setting or their organization's floor", () => {
    expect(eligibilityOf(allowed, user("ALLOWED"))).toEqual({ allowed: true })
    expect(eligibilityOf(allowed, user("ASK"))).toEqual({ allowed: true, approvalRequired: true, hint: "Approval required" })
    expect(eligibilityOf(allowed, user("ALLOWED", "ASK"))).toMatchObject({ approvalRequired: true })
  })
  it("passes refusals through in words", () => {
    expect(eligibilityOf({ allowed: false, code: "SELF", message: "You cannot impersonate yourself" }, user("ASK"))).toEqual({
      allowed: false,
      code: "SELF",
      message: "You cannot impersonate yourself",
    })
  })
})

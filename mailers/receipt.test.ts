import { describe, expect, it } from "vitest"
import { END_REASON_WORDS, formatDuration, receiptEmail } from "./receipt"

describe("the impersonation receipt", () => {
  it("states who, organization, when, how long, why, ticket, mode, counts and how it ended", () => {
    const email = receiptEmail({
      user: { name: "Uma User", email: "uma@example.com" },
      admin: { name: "Sky Support", email: "sky@example.com" },
      organization: "Acme",
      startedAt: new Date("2026-12-06T10:00:00.000Z"),
      endedAt: new Date("2026-12-06T11:05:00.000Z"),
      reason: "Ticket 4521: export fails",
      ticketUrl: "https://tickets.example.com/4521",
      mode: "READ_WRITE",
      changes: 2,
      reveals: 1,
      endReason: "ENDED_BY_USER",
      securityPage: "https://app.example.com/account/security",
    })
    expect(email.to).toBe("uma@example.com")
    expect(email.subject).toBe("Support accessed your account")
    for (const line of [
      "Who: Sky Support (sky@example.com)",
      "Organization: Acme",
      "Started: 2026-12-06 10:00:00 UTC",
      "Ended: 2026-12-06 11:05:00 UTC",
      "Duration: 1 hour 5 minutes",
      'Reason given: "Ticket 4521: export fails"',
      "Ticket: https://tickets.example.com/4521",
      "Mode: Read-write",
      "Changes made: 2 changes",
      "Sensitive fields revealed: 1 field",
      "How it ended: You ended it.",
      "https://app.example.com/account/security",
    ]) {
      expect(email.text).toContain(line)
    }
  })

  it("words every end reason", () => {
    for (const words of Object.values(END_REASON_WORDS)) expect(words).toMatch(/^[A-Z].+\.$/)
  })

  it("formats durations", () => {
    expect(formatDuration(40_000)).toBe("40 seconds")
    expect(formatDuration(60_000)).toBe("1 minute")
    expect(formatDuration(12 * 60_000)).toBe("12 minutes")
    expect(formatDuration(2 * 3_600_000)).toBe("2 hours")
  })
})

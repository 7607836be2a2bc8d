import { describe, expect, it } from "vitest"
import { CONSENT_CHOICES, END_REASON_WORDS, FLOOR_CHOICES, formatDuration, formatUtc } from "./words"

describe("the user side's words", () => {
  it("labels the three choices exactly as the issue names them", () => {
    expect(CONSENT_CHOICES).toEqual({ ALLOWED: "Support may access my account", ASK: "Ask me each time", NEVER: "Never" })
    expect(FLOOR_CHOICES).toEqual({
      ALLOWED: "Members decide",
      ASK: "Members' accounts always require approval",
      NEVER: "No staff access to this organization",
    })
  })

  it("tells the user how an access ended, every end reason in words", () => {
    expect(END_REASON_WORDS.ENDED_BY_USER).toBe("Ended by you")
    expect(END_REASON_WORDS.EXPIRED).toBe("Time limit reached")
    for (const words of Object.values(END_REASON_WORDS)) expect(words).toMatch(/^[A-Z]/)
  })

  it("formats durations and times", () => {
    expect(formatDuration(0)).toBe("0 s")
    expect(formatDuration(45_400)).toBe("45 s")
    expect(formatDuration(59_600)).toBe("1 min")
    expect(formatDuration(12 * 60_000)).toBe("12 min")
    expect(formatDuration(60 * 60_000)).toBe("1 h")
    expect(formatDuration(65 * 60_000)).toBe("1 h 5 min")
    expect(formatDuration(-5)).toBe("0 s")
    expect(formatUtc(new Date("2026-12-02T17:05:59Z"))).toBe("2026-12-02 17:05 UTC")
  })
})

import { describe, expect, it } from "vitest"
import { ImpersonateUserInput, SwitchToUserForm, switchFormToInput } from "./schemas"

describe("impersonateUser's mode and step-up", () => {
  it("is read-only unless read-write is asked for; an empty password is none", () => {
    const plain = ImpersonateUserInput.parse({ userId: 1, reason: "r" })
    expect(plain.mode).toBe("READ_ONLY")
    expect(plain.password).toBeUndefined()
    const empty = ImpersonateUserInput.parse({ userId: 1, reason: "r", mode: "READ_WRITE", password: "" })
    expect(empty.mode).toBe("READ_WRITE")
    expect(empty.password).toBeUndefined()
    // Never trimmed: the password is checked exactly as typed.
    expect(ImpersonateUserInput.parse({ userId: 1, reason: "r", mode: "READ_WRITE", password: " pw " }).password).toBe(" pw ")
    expect(ImpersonateUserInput.safeParse({ userId: 1, reason: "r", mode: "ADMIN" }).success).toBe(false)
    expect(ImpersonateUserInput.safeParse({ userId: 1, reason: "r", password: "x".repeat(101) }).success).toBe(false)
  })

  it("sends the form's password only with read-write", () => {
    const base = { user: "7", reason: "r", ticketUrl: "" }
    expect(switchFormToInput({ ...base, readWrite: false, password: "secret" })).toEqual({
      userId: 7,
      reason: "r",
      ticketUrl: null,
      mode: "READ_ONLY",
    })
    expect(switchFormToInput({ ...base, user: "a@b.example", readWrite: true, password: "secret" })).toEqual({
      email: "a@b.example",
      reason: "r",
      ticketUrl: null,
      mode: "READ_WRITE",
      password: "secret",
    })
  })
})

describe("hours of access asked of a user who approves each access", () => {
  it("is a whole number from 1 to 24, 1 when absent", () => {
    expect(ImpersonateUserInput.parse({ userId: 1, reason: "r" }).hours).toBe(1)
    expect(ImpersonateUserInput.parse({ userId: 1, reason: "r", hours: 24 }).hours).toBe(24)
    for (const hours of [0, 25, 1.5, -1, "3", null]) {
      expect(ImpersonateUserInput.safeParse({ userId: 1, reason: "r", hours }).success).toBe(false)
    }
  })

  it("the Switch to User form sends typed hours, and none when empty", () => {
    const base = { user: "7", reason: "r", ticketUrl: "" }
    expect(switchFormToInput({ ...base, hours: " 5 " })).toMatchObject({ userId: 7, hours: 5 })
    expect(switchFormToInput({ ...base, hours: "" })).not.toHaveProperty("hours")
    for (const hours of ["0", "25", "1.5", "two"]) {
      expect(SwitchToUserForm.safeParse({ ...base, hours }).success).toBe(false)
    }
    expect(SwitchToUserForm.safeParse({ ...base, hours: "24" }).success).toBe(true)
  })
})

describe("ticket links (review of issue 8, F2)", () => {
  it("refuses spaces, tabs and line breaks that URL parsing would drop silently", async () => {
    const { ticketUrl } = await import("./schemas")
    for (const bad of ["https://tickets.example/T-1\n\nApprove here: https://evil.example", "https://tickets.example/T 1", "https://tickets.example/\tT-1"]) {
      const parsed = ticketUrl.safeParse(bad)
      expect(parsed.success).toBe(false)
      expect(parsed.error?.issues[0]?.message).toBe("The ticket link must not contain spaces or line breaks")
    }
    expect(ticketUrl.safeParse("  https://tickets.example/T-1  ").data).toBe("https://tickets.example/T-1")
  })
})

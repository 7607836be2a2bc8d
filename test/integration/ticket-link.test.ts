import { describe, expect, it } from "vitest"
import db from "db"
import type { CurrentUser } from "app/users/queries/getCurrentUser"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, auditEventsFor, createUser, rowCounts } from "test/helpers/fixtures"

/** The optional ticket link of a start: stored, shown, audited, and only ever http(s). */

async function signedInSupport() {
  const support = await createUser({ label: "ticket-support", role: "SUPPORT" })
  const browser = new TestBrowser()
  await browser.login(support.email, PASSWORD)
  return { support, browser }
}

describe("ticket link", () => {
  it("is stored on the impersonation, returned by getCurrentUser and in every audit row", async () => {
    const { browser } = await signedInSupport()
    const target = await createUser({ label: "ticket-target" })
    const ticketUrl = "https://support.example.com/tickets/4521?tab=notes"
    const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
      userId: target.id,
      reason: "Checkout button does nothing",
      ticketUrl: `  ${ticketUrl} `,
    })
    expect(started.error).toBeNull()
    const id = started.result!.impersonationId
    expect((await db.impersonation.findUniqueOrThrow({ where: { id } })).ticketUrl).toBe(ticketUrl)
    const me = await browser.rpc<CurrentUser>("getCurrentUser")
    expect(me.result).toMatchObject({ id: target.id, ticketUrl, reason: "Checkout button does nothing" })

    expect((await browser.rpc("stopImpersonating", {})).error).toBeNull()
    const events = await auditEventsFor([id])
    expect(events.map((e) => e.action)).toEqual(["IMPERSONATION_STARTED", "IMPERSONATION_ENDED"])
    for (const event of events) expect(event.details).toMatchObject({ ticketUrl })
  })

  it("is optional: an empty field stores none", async () => {
    const { browser } = await signedInSupport()
    const target = await createUser({ label: "ticket-none" })
    const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
      userId: target.id,
      reason: "No ticket",
      ticketUrl: "",
    })
    expect(started.error).toBeNull()
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: started.result!.impersonationId } })
    expect(row.ticketUrl).toBeNull()
  })

  it.each([
    ["a javascript: link", "javascript:alert(document.cookie)"],
    ["a data: link", "data:text/html,<script>alert(1)</script>"],
    ["an ftp: link", "ftp://files.example.com/ticket"],
    ["text that is no URL", "not a url"],
    ["a link over 2,000 characters", `https://example.com/${"a".repeat(2100)}`],
  ])("refuses %s as invalid input and changes nothing", async (_label, ticketUrl) => {
    const { browser } = await signedInSupport()
    const target = await createUser({ label: "ticket-bad" })
    const before = await rowCounts()
    const res = await browser.rpc("impersonateUser", { userId: target.id, reason: "Bad link", ticketUrl })
    expect(res.error).toMatchObject({ name: "InputValidationError", statusCode: 400 })
    expect(res.error!.message).toMatch(/ticket link/i)
    expect(await rowCounts()).toEqual(before)
  })

  it("a reason made only of invisible characters is no reason: refused, nothing changed", async () => {
    const { browser } = await signedInSupport()
    const target = await createUser({ label: "ticket-invisible" })
    const before = await rowCounts()
    const res = await browser.rpc("impersonateUser", { userId: target.id, reason: "  \u200b\u2060\ufeff " })
    expect(res.error).toMatchObject({ name: "InputValidationError", statusCode: 400 })
    expect(res.error!.message).toContain("Give a reason for the impersonation")
    expect(await rowCounts()).toEqual(before)
  })
})

import { expect, test, type Page } from "@playwright/test"
import { banner, logIn } from "./helpers"

const TICKET_PAGE = /\/impersonate\?ticket=[A-Za-z0-9_-]{43}$/

/** Creates an actor token through the JSON API from the signed-in page, as a mobile client would. */
async function createTokenThroughApi(page: Page, body: Record<string, unknown>) {
  return page.evaluate(async (json) => {
    const antiCsrf = document.cookie
      .split("; ")
      .find((cookie) => cookie.startsWith("safe_imp_sAntiCsrfToken="))
      ?.split("=")[1]
    const response = await fetch("/api/actor-tokens", {
      method: "POST",
      headers: { "content-type": "application/json", "anti-csrf": antiCsrf ?? "" },
      body: JSON.stringify(json),
    })
    return { status: response.status, body: (await response.json()) as { url: string; token: string } }
  }, body)
}

test("the dialog's \"Open in new tab\" starts the impersonation in the new page; the link works once", async ({
  page,
  context,
  browser,
}) => {
  await logIn(page, "support@example.com")
  await page.goto("/admin/users?q=user@example.com")
  await page.getByRole("button", { name: "Impersonate Uma User" }).click()
  const dialog = page.getByRole("dialog")
  // The same fields as Confirm: no reason, no link.
  await dialog.getByRole("button", { name: "Open in new tab" }).click()
  await expect(dialog.getByText("Give a reason for the impersonation")).toBeVisible()
  expect(context.pages()).toHaveLength(1)
  await dialog.getByLabel("Reason").fill("Ticket 88: the export button fails")
  await dialog.getByLabel("Ticket link").fill("https://tickets.example/88")

  const newPage = context.waitForEvent("page")
  await dialog.getByRole("button", { name: "Open in new tab" }).click()
  const tab = await newPage
  await tab.waitForLoadState()
  await expect(tab).toHaveURL(TICKET_PAGE)
  const ticketUrl = tab.url()
  // The console tab stays where it was, the dialog closed, nothing started there.
  await expect(dialog).toHaveCount(0)
  await expect(banner(page)).toHaveCount(0)

  // Who, why and the limit; opening the page (even twice) changes nothing.
  await tab.reload()
  await expect(tab.getByRole("heading", { name: "Start impersonation" })).toBeVisible()
  await expect(tab.getByTestId("ticket-user")).toHaveText("Uma User (user@example.com)")
  await expect(tab.getByTestId("ticket-admin")).toHaveText("Sky Support (support@example.com)")
  await expect(tab.getByTestId("ticket-reason")).toHaveText("Ticket 88: the export button fails")
  await expect(tab.getByTestId("ticket-limit")).toContainText("20 minutes")
  await expect(tab.getByRole("link", { name: "https://tickets.example/88" })).toBeVisible()
  await expect(banner(tab)).toHaveCount(0)

  await tab.getByRole("button", { name: "Start" }).click()
  await expect(tab).toHaveURL("/")
  const notice = banner(tab)
  await expect(notice).toBeVisible()
  await expect(notice).toContainText("Uma User")
  await expect(notice).toContainText("Signed in by Sky Support")
  await expect(notice.getByRole("link", { name: "https://tickets.example/88" })).toBeVisible()
  await expect(tab.getByTestId("signed-in-as")).toContainText("Uma User (user@example.com)")

  // A second use of the same URL is refused, in this browser and in a fresh one.
  const again = await context.newPage()
  await again.goto(ticketUrl)
  await expect(again.getByTestId("ticket-refusal")).toHaveText(/already been used/)
  await expect(again.getByRole("button", { name: "Start" })).toHaveCount(0)
  const elsewhere = await browser.newContext()
  const stranger = await elsewhere.newPage()
  await stranger.goto(ticketUrl)
  await expect(stranger.getByTestId("ticket-refusal")).toHaveText(/already been used/)
  await expect(stranger.getByRole("button", { name: "Start" })).toHaveCount(0)
  await expect(stranger.getByRole("link", { name: "Log in" })).toBeVisible()
  await elsewhere.close()

  // This browser held the admin's session: Stop returns to it.
  await banner(tab).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(tab).toHaveURL("/admin")
  await expect(tab.getByText("Signed in as Sky Support (support@example.com).")).toBeVisible()
})

test("a ticket opened where no one is signed in works once, and its Stop signs that browser out", async ({
  page,
  browser,
}) => {
  await logIn(page, "support@example.com")
  const created = await createTokenThroughApi(page, {
    email: "user@example.com",
    reason: "Ticket 91: seen on the phone app",
  })
  expect(created.status).toBe(201)
  expect(created.body.url).toMatch(TICKET_PAGE)

  const phone = await browser.newContext()
  const tab = await phone.newPage()
  await tab.goto(created.body.url)
  await expect(tab.getByTestId("ticket-user")).toHaveText("Uma User (user@example.com)")
  await expect(tab.getByText("This browser is not signed in as the admin")).toBeVisible()
  await tab.getByRole("button", { name: "Start" }).click()
  await expect(tab).toHaveURL("/")
  await expect(banner(tab)).toContainText("Uma User")
  await expect(banner(tab)).toContainText("Signed in by Sky Support")

  await banner(tab).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(tab).toHaveURL("/login")
  await expect(tab.getByRole("heading", { name: "Log in" })).toBeVisible()
  await expect(banner(tab)).toHaveCount(0)
  await tab.goto("/")
  await expect(tab.getByRole("heading", { name: "Welcome" })).toBeVisible()
  await phone.close()

  // The admin's own browser was never touched.
  await page.goto("/")
  await expect(page.getByTestId("signed-in-as")).toContainText("support@example.com")
})

test("a browser signed in as another admin is refused on the ticket page and keeps its session", async ({
  page,
  browser,
}) => {
  await logIn(page, "support@example.com")
  const created = await createTokenThroughApi(page, { email: "member@acme.example", reason: "Ticket 93" })
  expect(created.status).toBe(201)

  const other = await browser.newContext()
  const tab = await other.newPage()
  await logIn(tab, "admin@acme.example")
  await tab.goto(created.body.url)
  await expect(tab.getByTestId("ticket-refusal")).toHaveText("This link was created by another admin")
  await expect(tab.getByRole("button", { name: "Start" })).toHaveCount(0)
  await tab.goto("/")
  await expect(tab.getByTestId("signed-in-as")).toContainText("admin@acme.example")
  await expect(banner(tab)).toHaveCount(0)
  await other.close()
})

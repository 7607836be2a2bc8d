import { expect, test } from "@playwright/test"
import { banner, logIn } from "./helpers"

/**
 * Issue 8, access requests in real Chromium: an admin asks a user who approves each access
 * (ask@example.com, Avery Ask); in a second browser the user sees the notice, opens Security
 * and approves; the admin starts under the approval; the user sees support in the account, presses
 * End access, the admin's browser is the admin's again, and the user's history has the entry.
 */
test("an admin asks, the user approves in their own browser, the admin starts under the approval", async ({ page, browser }) => {
  const reason = "Ticket 90: the dashboard shows no projects"
  // The user is already signed in, on a page with no request yet.
  const userContext = await browser.newContext()
  const userPage = await userContext.newPage()
  await logIn(userPage, "ask@example.com")
  const notice = userPage.getByTestId("access-request-notice")
  await expect(notice).toHaveCount(0)

  await logIn(page, "support@example.com")
  await page.goto("/admin/users?q=ask@example.com")
  const row = page.getByRole("row").filter({ hasText: "ask@example.com" })
  await expect(row.getByText("Approval required")).toBeVisible()
  await row.getByRole("button", { name: "Impersonate Avery Ask" }).click()
  const dialog = page.getByRole("dialog")
  await dialog.getByLabel("Reason").fill(reason)
  await dialog.getByLabel("Ticket link").fill("https://tickets.example/90")
  await dialog.getByLabel("Hours of access to ask for").selectOption("2")
  await dialog.getByRole("button", { name: "Confirm" }).click()
  // A state to wait in, not an error; nothing started.
  await expect(dialog.getByRole("status").filter({ hasText: "Waiting for the user's approval" })).toBeVisible()
  await expect(dialog.getByRole("alert")).toHaveCount(0)
  await expect(banner(page)).toHaveCount(0)

  // The user's page shows the notice without a reload (it asks again every few seconds).
  await expect(notice).toContainText(`Sky Support asks to access your account: ${reason}`, { timeout: 20_000 })
  await notice.getByRole("link", { name: "Review" }).click()
  await expect(userPage).toHaveURL("/account/security")
  const waiting = userPage.getByRole("list", { name: "Waiting for your answer" }).getByRole("listitem")
  await expect(waiting).toHaveCount(1)
  await expect(waiting).toContainText("Sky Support")
  await expect(waiting).toContainText(reason)
  await expect(waiting).toContainText("2 hours, read-only")
  await expect(waiting.getByLabel("Allow for")).toHaveValue("2")
  // Only read-only was asked: read-write is not offered.
  await expect(waiting.getByLabel("Access").locator("option")).toHaveCount(1)
  await waiting.getByRole("button", { name: "Approve" }).click()
  const approved = userPage.getByRole("list", { name: "Approved access" }).getByRole("listitem")
  await expect(approved).toContainText("Approved: read-only, until")
  await expect(approved.getByRole("button", { name: "Revoke", exact: true })).toBeVisible()
  await expect(userPage.getByRole("list", { name: "Waiting for your answer" })).toHaveCount(0)
  await expect(notice).toHaveCount(0)

  // The admin starts: the dialog and the banner name the approval's end.
  await page.reload()
  await page.getByRole("row").filter({ hasText: "ask@example.com" }).getByRole("button", { name: "Impersonate Avery Ask" }).click()
  const again = page.getByRole("dialog")
  await expect(again.getByText(/Approved by the user until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/)).toBeVisible()
  await again.getByLabel("Reason").fill(reason)
  await again.getByRole("button", { name: "Confirm" }).click()
  await expect(page).toHaveURL("/")
  await expect(banner(page)).toContainText("Avery Ask")
  await expect(banner(page)).toContainText(/Approved by the user until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/)

  // Avery sees support in the account (on any page, without a reload) and ends it.
  await userPage.goto("/")
  const live = userPage.getByRole("region", { name: "Support in your account" }).getByRole("listitem").filter({ hasText: reason })
  await expect(live).toContainText("Support (Sky Support) is in your account now, since", { timeout: 20_000 })
  await live.getByRole("button", { name: "End access" }).click()
  await expect(live).toHaveCount(0)

  // The admin's browser is the admin's own again at its next navigation.
  await page.goto("/")
  await expect(page.getByTestId("signed-in-as")).toContainText("Sky Support (support@example.com)")
  await expect(banner(page)).toHaveCount(0)

  // Avery's access history has the entry: who, why, under the approval, ended by Avery.
  await userPage.goto("/account/security")
  const entry = userPage.getByTestId("access-history-row").filter({ hasText: reason }).first()
  for (const text of ["Sky Support", "Read-only", "Ended by you", "Approved by you"]) {
    await expect(entry).toContainText(text)
  }
  await userContext.close()
})

test("the Switch to User form shows the wait as a state, and the user's denial in words", async ({ page, browser }) => {
  await logIn(page, "superadmin@example.com")
  await page.goto("/admin")
  await page.getByLabel("User ID or email").fill("ask@example.com")
  await page.getByLabel("Reason").fill("Ticket 91: settings do not save")
  await page.getByLabel("Hours of access to ask for").fill("3")
  await page.getByRole("button", { name: "Switch to User" }).click()
  const form = page.getByRole("form", { name: "Switch to User" })
  await expect(page.getByTestId("switch-waiting")).toHaveText(
    "Waiting for the user's approval: Avery Ask has been asked for 3 hours of read-only access, by email and in the app",
  )
  await expect(page.getByTestId("switch-waiting")).toHaveAttribute("role", "status")
  await expect(form.getByRole("alert")).toHaveCount(0)

  const userContext = await browser.newContext()
  const userPage = await userContext.newPage()
  await logIn(userPage, "ask@example.com")
  await userPage.goto("/account/security")
  const waiting = userPage
    .getByRole("list", { name: "Waiting for your answer" })
    .getByRole("listitem")
    .filter({ hasText: "Ticket 91" })
  await expect(waiting).toContainText("3 hours, read-only")
  await waiting.getByRole("button", { name: "Deny" }).click()
  await expect(waiting).toHaveCount(0)
  await expect(userPage.getByText(/Ticket 91: settings do not save .* Denied/)).toBeVisible()
  await userContext.close()

  await page.getByRole("button", { name: "Switch to User" }).click()
  await expect(form.getByRole("alert")).toContainText("The user denied your access request. You can ask again after")
  await expect(page.getByTestId("switch-waiting")).toHaveCount(0)
})

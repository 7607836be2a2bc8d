import { expect, test, type Page } from "@playwright/test"
import { DEMO_PASSWORD, banner, logIn, switchFormError, switchToUser } from "./helpers"

/** Issue 7, item 2: read-only by default; read-write only after the admin's own password. */

async function stopImpersonating(page: Page) {
  await banner(page).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
}

test("the dialog's read-write needs your password: a wrong one is refused in the dialog, the right one starts read-write", async ({
  page,
}) => {
  await logIn(page, "superadmin@example.com")
  await page.goto("/admin/users?q=user%40example.com")
  await page.getByRole("table").locator("tbody tr").filter({ hasText: "user@example.com" }).getByRole("button", { name: "Impersonate" }).click()
  const dialog = page.getByRole("dialog", { name: "Impersonate Uma User" })
  await dialog.getByLabel("Reason").fill("Ticket 990: fix the project name")
  await expect(dialog.getByLabel("Your password")).toHaveCount(0)
  await dialog.getByLabel("Allow changes (read-write)").check()
  const password = dialog.getByLabel("Your password")
  await expect(password).toBeFocused()
  await expect(password).toHaveAttribute("type", "password")

  await password.fill("not-my-password-1")
  await dialog.getByRole("button", { name: "Confirm" }).click()
  await expect(dialog.getByRole("alert")).toHaveText("Your password is not correct; read-write needs your own password")
  await expect(dialog).toBeVisible()
  await expect(password).toHaveValue("")
  // Nothing started: still the admin, on the console.
  await expect(page).toHaveURL(/\/admin\/users/)

  await password.fill(DEMO_PASSWORD)
  await dialog.getByRole("button", { name: "Confirm" }).click()
  await expect(page).toHaveURL("/")
  await expect(page.getByTestId("signed-in-as")).toContainText("user@example.com")
  await expect(banner(page)).toContainText("Read-write")
  await expect(banner(page)).not.toContainText("Read-only")
  await stopImpersonating(page)
})

test("a default start's banner says Read-only; the Switch to User form asks for your password for read-write", async ({
  page,
}) => {
  await logIn(page, "support@example.com")
  await switchToUser(page, "user@example.com", "Ticket 991: look only")
  await expect(page).toHaveURL("/")
  await expect(banner(page)).toContainText("Read-only")
  await expect(banner(page)).not.toContainText("Read-write")
  await stopImpersonating(page)

  const form = page.getByRole("form", { name: "Switch to User" })
  await form.getByLabel("User ID or email").fill("user@example.com")
  await form.getByLabel("Reason").fill("Ticket 992: rename a project")
  await form.getByLabel("Allow changes (read-write)").check()
  await form.getByRole("button", { name: "Switch to User" }).click()
  await expect(switchFormError(page)).toHaveText("Enter your password to allow changes (read-write)")
  await expect(page).toHaveURL("/admin")

  await form.getByLabel("Your password").fill(DEMO_PASSWORD)
  await form.getByRole("button", { name: "Switch to User" }).click()
  await expect(page).toHaveURL("/")
  await expect(banner(page)).toContainText("Read-write")
  await stopImpersonating(page)
})

test("the console's Outbox page lists held emails and sends nothing", async ({ page }) => {
  await logIn(page, "support@example.com")
  await page.goto("/admin")
  await page.getByRole("navigation", { name: "Admin console" }).getByRole("link", { name: "Outbox" }).click()
  await expect(page).toHaveURL("/admin/outbox")
  await expect(page.getByRole("heading", { name: "Outbox" })).toBeVisible()
  await expect(page.getByText("nothing on this page sends them")).toBeVisible()
  await page.goto("/admin/outbox?before=abc")
  await expect(page.getByText("That page link is not valid; showing the newest messages.")).toBeVisible()
})

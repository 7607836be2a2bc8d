import { expect, test } from "@playwright/test"
import { DEMO_PASSWORD, banner, logIn } from "./helpers"

/**
 * Issue 7 end to end: support renames a customer's project read-only (refused in the page), then
 * read-write after the step-up (it renames, and the project names both people); the "shared
 * with you" email written during the impersonation waits in the admin's outbox.
 */

test("read-only refuses a rename in the page; read-write after step-up renames, and the project shows who changed it", async ({
  page,
  browser,
}) => {
  const name = `Billing export ${Date.now().toString(36)}`
  // Uma creates a project of her own.
  const uma = await (await browser.newContext()).newPage()
  await logIn(uma, "user@example.com")
  await uma.goto("/projects")
  await uma.getByLabel("Project name").fill(name)
  await uma.getByRole("button", { name: "Create project" }).click()
  await expect(uma.getByRole("link", { name, exact: true })).toBeVisible()

  // Support, read-only (the default).
  await logIn(page, "support@example.com")
  await page.goto("/admin", { waitUntil: "networkidle" })
  const form = page.getByRole("form", { name: "Switch to User" })
  await form.getByLabel("User ID or email").fill("user@example.com")
  await form.getByLabel("Reason").fill("Ticket 7100: export button renames nothing")
  await form.getByRole("button", { name: "Switch to User" }).click()
  await expect(banner(page)).toContainText("Read-only")
  await page.goto("/projects")
  await page.getByRole("link", { name, exact: true }).click()
  await page.getByLabel("Name", { exact: true }).fill(`${name} (support)`)
  await page.getByRole("button", { name: "Rename" }).click()
  await expect(page.getByRole("form", { name: "Rename project" }).getByRole("alert")).toHaveText(
    "Read-only impersonation: this action is not allowed",
  )
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible()
  await banner(page).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
  // A fresh, hydrated form (fields filled before hydration can be emptied).
  await page.goto("/admin", { waitUntil: "networkidle" })

  // Read-write, after the admin's own password.
  await form.getByLabel("User ID or email").fill("user@example.com")
  await form.getByLabel("Reason").fill("Ticket 7100: rename it for the customer")
  await form.getByLabel("Allow changes (read-write)").check()
  await form.getByLabel("Your password").fill(DEMO_PASSWORD)
  await form.getByRole("button", { name: "Switch to User" }).click()
  await expect(banner(page)).toContainText("Read-write")
  await page.goto("/projects")
  await page.getByRole("link", { name, exact: true }).click()
  await page.getByLabel("Name", { exact: true }).fill(`${name} (support)`)
  await page.getByRole("button", { name: "Rename" }).click()
  await expect(page.getByRole("heading", { name: `${name} (support)`, level: 1 })).toBeVisible()
  await expect(page.getByText("Last changed by Uma User (by Sky Support while impersonating)")).toBeVisible()

  // Sharing writes the email; it is held for support's outbox, not sent to Pat.
  await page.getByLabel("Share with (email)").fill("pat@example.com")
  await page.getByRole("button", { name: "Share" }).click()
  await expect(page.getByRole("list", { name: "Members" })).toContainText("Pat Partner")
  await banner(page).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
  await page.goto("/admin/outbox")
  await expect(page.getByText(`shared the project "${name} (support)" with you`)).toBeVisible()

  // Uma sees who changed her project.
  await uma.goto("/projects")
  await expect(uma.getByRole("link", { name: `${name} (support)`, exact: true })).toBeVisible()
})

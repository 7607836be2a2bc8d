import { expect, test, type Page } from "@playwright/test"
import { banner, logIn, switchToUser } from "./helpers"

/** Issue 7: the Settings page, as its owner and as support sees it while impersonating. */

function section(page: Page, name: string) {
  return page.getByRole("form", { name })
}

test("while impersonating, Settings shows the phone masked; Reveal shows it after a reason; a password change is refused in the page", async ({
  page,
}) => {
  await logIn(page, "support@example.com")
  await switchToUser(page, "user@example.com", "Ticket 7001: wrong phone on invoices")
  await expect(page).toHaveURL("/")
  await expect(banner(page)).toContainText("Read-only")
  await page.getByRole("link", { name: "Settings" }).click()
  await expect(page).toHaveURL("/settings")
  await expect(page.getByRole("heading", { name: "Settings", level: 1 })).toBeVisible()

  const phone = page.getByTestId("phone")
  await expect(phone).toContainText("•••• 4321")
  await expect(phone).not.toContainText("0100")
  await expect(page.locator("body")).not.toContainText("0100-4321")
  await expect(page.getByTestId("last-seen")).toContainText("Last seen:")

  await phone.getByRole("button", { name: "Reveal phone number" }).click()
  const reason = phone.getByLabel("Reason for revealing")
  await expect(reason).toBeFocused()
  await phone.getByRole("button", { name: "Show" }).click()
  await expect(phone.getByRole("alert")).toHaveText(/Give a reason for revealing this value/)
  await reason.fill("Caller confirmed their identity")
  await phone.getByRole("button", { name: "Show" }).click()
  await expect(phone).toHaveText("+1 (555) 0100-4321")

  const password = section(page, "Change password")
  await password.getByLabel("Current password").fill("demo-password-1")
  await password.getByLabel("New password", { exact: true }).fill("support-chose-this-1")
  await password.getByLabel("Repeat the new password").fill("support-chose-this-1")
  await password.getByRole("button", { name: "Change password" }).click()
  await expect(password.getByRole("alert")).toHaveText("This action is never allowed while impersonating a user, in any mode")

  await banner(page).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
})

test("a person manages their own settings: phone, an API key shown once, revoke, password, email, delete", async ({ page }) => {
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  const email = `settings-${tag}@example.org`
  await page.goto("/signup")
  await page.getByLabel("Name").fill("Sal Settings")
  await page.getByLabel("Email").fill(email)
  await page.getByLabel("Password").fill("first-password-1")
  await page.getByRole("button", { name: "Create account" }).click()
  await expect(page.getByTestId("signed-in-as")).toContainText(email)

  // Old links to /account land on Settings.
  await page.goto("/account")
  await expect(page).toHaveURL("/settings")
  await expect(page.getByTestId("phone")).toHaveText("None")

  const profile = section(page, "Profile")
  await profile.getByLabel("Phone number").fill("call me")
  await profile.getByRole("button", { name: "Save profile" }).click()
  await expect(profile.getByRole("alert").first()).toContainText("Enter a phone number of 7 to 20 characters")
  await profile.getByLabel("Phone number").fill("+49 30 1234 5678")
  await profile.getByRole("button", { name: "Save profile" }).click()
  await expect(page.getByTestId("phone")).toHaveText("+49 30 1234 5678")
  // Nothing is masked for the person themself: no Reveal anywhere.
  await expect(page.getByRole("button", { name: /Reveal/ })).toHaveCount(0)

  const keys = section(page, "Create API key")
  await keys.getByLabel("Key name").fill("Laptop CLI")
  await keys.getByRole("button", { name: "Create API key" }).click()
  const shown = page.getByTestId("new-api-key")
  await expect(shown).toHaveText(/^sk_[A-Za-z0-9_-]{43}$/)
  const key = (await shown.textContent())!
  await expect(page.getByText("it is shown only this once")).toBeVisible()
  const row = page.getByRole("table").locator("tbody tr").filter({ hasText: "Laptop CLI" })
  await expect(row).toContainText(`…${key.slice(-4)}`)
  await expect(row).toContainText("Active")
  await page.reload()
  await expect(page.getByText(key)).toHaveCount(0)
  await row.getByRole("button", { name: "Revoke Laptop CLI" }).click()
  await expect(row).toContainText("Revoked")

  const password = section(page, "Change password")
  await password.getByLabel("Current password").fill("not-my-password")
  await password.getByLabel("New password", { exact: true }).fill("second-password-2")
  await password.getByLabel("Repeat the new password").fill("second-password-2")
  await password.getByRole("button", { name: "Change password" }).click()
  await expect(password.getByRole("alert")).toHaveText("Your current password is not correct")
  await password.getByLabel("Current password").fill("first-password-1")
  await password.getByLabel("New password", { exact: true }).fill("second-password-2")
  await password.getByLabel("Repeat the new password").fill("second-password-2")
  await password.getByRole("button", { name: "Change password" }).click()
  await expect(page.getByTestId("password-notice")).toHaveText("Password changed. No other session was signed in.")
  // Still signed in on this browser.
  await page.reload()
  await expect(page.getByTestId("phone")).toHaveText("+49 30 1234 5678")

  const newEmail = `moved-${tag}@example.org`
  const emailForm = section(page, "Change email")
  await emailForm.getByLabel("New email").fill("support@example.com")
  await emailForm.getByRole("button", { name: "Change email" }).click()
  await expect(emailForm.getByRole("alert")).toHaveText("An account with this email already exists")
  await emailForm.getByLabel("New email").fill(newEmail)
  await emailForm.getByRole("button", { name: "Change email" }).click()
  await expect(emailForm.getByRole("status")).toContainText(`Your email is now ${newEmail}`)

  const remove = section(page, "Delete account")
  await remove.getByLabel("Your password, to confirm").fill("second-password-2")
  await remove.getByRole("button", { name: "Delete my account" }).click()
  await expect(page).toHaveURL("/")
  await expect(page.getByRole("heading", { name: "Welcome" })).toBeVisible()
  await logInFails(page, newEmail, "second-password-2")
})

async function logInFails(page: Page, email: string, password: string) {
  await page.goto("/login")
  await page.getByLabel("Email").fill(email)
  await page.getByLabel("Password").fill(password)
  await page.getByRole("button", { name: "Log in" }).click()
  await expect(page.getByRole("form", { name: "Log in" }).getByRole("alert")).toHaveText("Wrong email or password")
}

test("an organization owner changes a member's role on the Members tab", async ({ page }) => {
  await logIn(page, "owner@acme.example")
  await page.getByRole("link", { name: "Settings" }).click()
  await page.getByRole("link", { name: "Acme" }).click()
  const row = page.getByRole("table").locator("tbody tr").filter({ hasText: "member@acme.example" })
  await row.getByLabel("Role for Mia Member").selectOption("ADMIN")
  await row.getByRole("button", { name: "Change role" }).click()
  await expect(row.locator("td").nth(2)).toHaveText("Admin")
  // And back, so other specs find the demo data as seeded.
  await row.getByLabel("Role for Mia Member").selectOption("MEMBER")
  await row.getByRole("button", { name: "Change role" }).click()
  await expect(row.locator("td").nth(2)).toHaveText("Member")
  // Nobody changes their own role.
  const own = page.getByRole("table").locator("tbody tr").filter({ hasText: "owner@acme.example" })
  await expect(own.getByRole("button", { name: "Change role" })).toHaveCount(0)
})

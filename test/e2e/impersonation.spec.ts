import { expect, test } from "@playwright/test"
import { banner, logIn, switchFormError, switchToUser } from "./helpers"

test("support switches to a user, sees the banner everywhere, and stops back to /admin", async ({
  page,
}) => {
  await logIn(page, "support@example.com")
  await switchToUser(page, "user@example.com", "Ticket 4521: checkout button does nothing")

  await expect(page).toHaveURL("/")
  await expect(page.getByTestId("signed-in-as")).toContainText("Uma User (user@example.com)")
  const notice = banner(page)
  await expect(notice).toBeVisible()
  await expect(notice).toContainText("Uma User")
  await expect(notice).toContainText("user@example.com")
  await expect(notice).toContainText("Signed in by Sky Support")
  await expect(notice).toContainText("Ticket 4521: checkout button does nothing")
  await expect(notice.getByTestId("impersonation-countdown")).toHaveText(/^(20:00|19:[0-5]\d)$/)
  await expect(notice.getByRole("button", { name: "Stop impersonating" })).toBeVisible()

  // The banner is on every page, and the admin console is refused while acting as the user.
  await page.getByRole("link", { name: "Settings" }).click()
  await expect(page.getByRole("heading", { name: "Settings", level: 1 })).toBeVisible()
  await expect(banner(page)).toBeVisible()
  const adminResponse = await page.goto("/admin")
  expect(adminResponse?.status()).toBe(403)
  await expect(page.getByText("The admin console is not available while impersonating.")).toBeVisible()
  await expect(banner(page)).toBeVisible()

  await banner(page).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
  await expect(page.getByRole("heading", { name: "Admin console" })).toBeVisible()
  await expect(page.getByText("Signed in as Sky Support (support@example.com).")).toBeVisible()
  await expect(banner(page)).toHaveCount(0)
})

test("refusals are shown in the form in words", async ({ page }) => {
  await logIn(page, "support@example.com")
  await switchToUser(page, "optout@example.com", "Checking billing page")
  await expect(switchFormError(page)).toHaveText("This user has turned off support access")
  await expect(page).toHaveURL("/admin")

  await page.getByLabel("User ID or email").fill("support@example.com")
  await page.getByRole("button", { name: "Switch to User" }).click()
  await expect(switchFormError(page)).toHaveText("You cannot impersonate yourself")

  await page.getByLabel("User ID or email").fill("superadmin@example.com")
  await page.getByRole("button", { name: "Switch to User" }).click()
  await expect(switchFormError(page)).toHaveText(
    "This user is platform staff and cannot be impersonated by you",
  )

  // The reason is required before anything is sent.
  await page.getByLabel("User ID or email").fill("user@example.com")
  await page.getByLabel("Reason").fill("")
  await page.getByRole("button", { name: "Switch to User" }).click()
  await expect(page.getByText("Give a reason for the impersonation")).toBeVisible()
  await expect(banner(page)).toHaveCount(0)
})

test("an org admin can switch to a member of their org and is refused for Globex", async ({
  page,
}) => {
  await logIn(page, "admin@acme.example")
  await switchToUser(page, "member@globex.example", "Shared document missing")
  await expect(switchFormError(page)).toHaveText(
    "You can only impersonate members of your own organization",
  )

  await page.getByLabel("User ID or email").fill("member@acme.example")
  await page.getByRole("button", { name: "Switch to User" }).click()
  await expect(page).toHaveURL("/")
  await expect(banner(page)).toContainText("Mia Member")
  await expect(banner(page)).toContainText("Signed in by Adam Admin")
  await banner(page).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
  await expect(page.getByText("Signed in as Adam Admin (admin@acme.example).")).toBeVisible()
})

test("a plain user gets no admin console", async ({ page }) => {
  await logIn(page, "user@example.com")
  await expect(page.getByRole("link", { name: "Admin console" })).toHaveCount(0)
  const response = await page.goto("/admin")
  expect(response?.status()).toBe(403)
  await expect(page.getByText("You do not have access to the admin console.")).toBeVisible()
  await expect(page.getByLabel("User ID or email")).toHaveCount(0)
})

import { expect, type Page } from "@playwright/test"

export const DEMO_PASSWORD = "demo-password-1"

export async function logIn(page: Page, email: string) {
  // After hydration: a field filled before React takes over the form can be emptied by it.
  await page.goto("/login", { waitUntil: "networkidle" })
  await page.getByLabel("Email").fill(email)
  await page.getByLabel("Password").fill(DEMO_PASSWORD)
  await expect(page.getByLabel("Email")).toHaveValue(email)
  await page.getByRole("button", { name: "Log in" }).click()
  await expect(page.getByTestId("signed-in-as")).toContainText(email)
}

export async function switchToUser(page: Page, user: string, reason: string) {
  await page.goto("/admin")
  await expect(page.getByRole("heading", { name: "Admin console" })).toBeVisible()
  await page.getByLabel("User ID or email").fill(user)
  await page.getByLabel("Reason").fill(reason)
  await page.getByRole("button", { name: "Switch to User" }).click()
}

export function banner(page: Page) {
  return page.getByRole("alert").filter({ hasText: "You are impersonating" })
}

/** The error shown inside the "Switch to User" form (Next's route announcer is an alert too). */
export function switchFormError(page: Page) {
  return page.getByRole("form", { name: "Switch to User" }).getByRole("alert")
}

import { expect, test, type Page } from "@playwright/test"
import { banner, logIn, switchToUser } from "./helpers"

/** Issue 6, item 4: Active impersonations in the admin console, watched from a second browser context. */

function liveRow(page: Page, reason: string) {
  return page.getByRole("row").filter({ hasText: reason })
}

async function openActiveImpersonations(page: Page) {
  await page.goto("/admin")
  await page.getByRole("navigation", { name: "Admin console" }).getByRole("link", { name: "Active impersonations" }).click()
  await expect(page).toHaveURL("/admin/impersonations")
  await expect(page.getByRole("heading", { name: "Active impersonations" })).toBeVisible()
}

test("a superadmin ends support's impersonation under Active impersonations; support is back at its next navigation", async ({
  browser,
}) => {
  const reason = `Ticket ${Date.now()}: invoices missing (console End)`
  const supportContext = await browser.newContext()
  const superadminContext = await browser.newContext()
  try {
    const impersonating = await supportContext.newPage()
    await logIn(impersonating, "support@example.com")
    await switchToUser(impersonating, "user@example.com", reason)
    await expect(impersonating).toHaveURL("/")
    await expect(banner(impersonating)).toContainText("Uma User")

    const console = await superadminContext.newPage()
    await logIn(console, "superadmin@example.com")
    await openActiveImpersonations(console)
    const row = liveRow(console, reason)
    await expect(row).toHaveCount(1)
    for (const text of ["Sky Support", "support@example.com", "Uma User", "user@example.com", "Read-only"]) {
      await expect(row).toContainText(text)
    }
    // A live countdown from the 20-minute limit.
    const timeLeft = row.getByTestId("time-left")
    await expect(timeLeft).toHaveText(/^(20:00|19:[0-5]\d)$/)
    const shown = await timeLeft.textContent()
    await expect(timeLeft).not.toHaveText(shown!, { timeout: 3_000 })

    await row.getByRole("button", { name: "End" }).click()
    await expect(row).toHaveCount(0)

    // Nothing reached the impersonated browser until now: its next request finds the End.
    await impersonating.goto("/")
    await expect(impersonating.getByTestId("signed-in-as")).toContainText("Sky Support (support@example.com)")
    await expect(banner(impersonating)).toHaveCount(0)
  } finally {
    await supportContext.close()
    await superadminContext.close()
  }
})

test("support sees an impersonation started by another admin without an End button", async ({ browser }) => {
  const reason = `Ticket ${Date.now()}: superadmin checks settings`
  const superadminContext = await browser.newContext()
  const supportContext = await browser.newContext()
  try {
    const impersonating = await superadminContext.newPage()
    await logIn(impersonating, "superadmin@example.com")
    await switchToUser(impersonating, "user@example.com", reason)
    await expect(banner(impersonating)).toContainText("Signed in by Sam Superadmin")

    const console = await supportContext.newPage()
    await logIn(console, "support@example.com")
    await console.goto("/admin")
    await expect(console.getByTestId("impersonation-quota")).toHaveText(/^No monthly limit \(\d+ started this month\)$/)
    await openActiveImpersonations(console)
    const row = liveRow(console, reason)
    await expect(row).toHaveCount(1)
    await expect(row).toContainText("Sam Superadmin")
    await expect(row.getByRole("button", { name: "End" })).toHaveCount(0)

    await banner(impersonating).getByRole("button", { name: "Stop impersonating" }).click()
    await expect(impersonating).toHaveURL("/admin")
    await console.reload()
    await expect(liveRow(console, reason)).toHaveCount(0)
  } finally {
    await superadminContext.close()
    await supportContext.close()
  }
})

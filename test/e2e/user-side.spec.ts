import { expect, test, type Page } from "@playwright/test"
import { banner, logIn, switchToUser } from "./helpers"

/**
 * Issue 8, items 3 and 4, in two browser contexts: support impersonates Uma (consent
 * "Support may access my account"); Uma's open page shows the live notice without a reload and
 * she presses "End access"; support's browser is back to Sky Support at its next navigation;
 * Uma's Security page lists the access, ended by her.
 */

function liveNotice(page: Page) {
  return page.getByRole("region", { name: "Support in your account" })
}

test("the user sees support in their account, ends it, and finds it in the access history", async ({ browser }) => {
  const reason = `Ticket ${Date.now()}: invoices missing (End access)`
  const userContext = await browser.newContext()
  const supportContext = await browser.newContext()
  try {
    const userPage = await userContext.newPage()
    await logIn(userPage, "user@example.com")
    await expect(liveNotice(userPage).filter({ hasText: reason })).toHaveCount(0)

    const supportPage = await supportContext.newPage()
    await logIn(supportPage, "support@example.com")
    await switchToUser(supportPage, "user@example.com", reason)
    await expect(supportPage).toHaveURL("/")
    await expect(banner(supportPage)).toContainText("Uma User")
    // The admin acting as Uma never sees her notice.
    await expect(liveNotice(supportPage)).toHaveCount(0)

    // Uma's page, loaded before the start, shows the notice by itself (it polls).
    const entry = liveNotice(userPage).getByRole("listitem").filter({ hasText: reason })
    await expect(entry).toContainText("Support (Sky Support) is in your account now, since")
    await expect(entry).toContainText(`reason ${reason}`)
    await entry.getByRole("button", { name: "End access" }).click()
    await expect(entry).toHaveCount(0)

    // Support's browser finds out at its next navigation: it is Sky Support again.
    await supportPage.goto("/")
    await expect(supportPage.getByTestId("signed-in-as")).toContainText("Sky Support (support@example.com)")
    await expect(banner(supportPage)).toHaveCount(0)

    // Uma's access history: newest first, ended by her.
    await userPage.goto("/account/security")
    await expect(userPage.getByRole("heading", { name: "Access history" })).toBeVisible()
    const firstRow = userPage.getByTestId("access-history-row").first()
    await expect(firstRow).toContainText(reason)
    for (const text of ["Sky Support", "support@example.com", "Platform support", "Read-only", "Ended by you"]) {
      await expect(firstRow).toContainText(text)
    }
    await expect(userPage.getByRole("button", { name: "End access" })).toHaveCount(0)
    await expect(userPage.getByText("Nobody from support is in your account now.")).toBeVisible()
  } finally {
    await userContext.close()
    await supportContext.close()
  }
})

test("the user's consent choice on the Security page: Never refuses support, then allowed again", async ({ browser }) => {
  const userContext = await browser.newContext()
  const supportContext = await browser.newContext()
  try {
    const page = await userContext.newPage()
    await logIn(page, "member@acme.example")
    await page.goto("/account/security", { waitUntil: "networkidle" })
    const form = page.getByRole("form", { name: "Who may access your account" })
    await expect(form.getByLabel("Support may access my account")).toBeChecked()
    await form.getByLabel("Never", { exact: true }).check()
    await form.getByRole("button", { name: "Save" }).click()
    await expect(form.getByRole("status")).toHaveText("Saved.")
    await expect(page.getByTestId("effective-consent")).toContainText("Nobody may access your account")

    // Support is refused with the user's reason.
    const support = await supportContext.newPage()
    await logIn(support, "support@example.com")
    await switchToUser(support, "member@acme.example", "Ticket: consent check")
    await expect(support.getByRole("form", { name: "Switch to User" }).getByRole("alert")).toContainText(
      "This user has turned off support access",
    )

    await form.getByLabel("Support may access my account").check()
    await form.getByRole("button", { name: "Save" }).click()
    await expect(form.getByRole("status")).toHaveText("Saved.")
    await expect(page.getByTestId("effective-consent")).toContainText("Support may access your account")
  } finally {
    await userContext.close()
    await supportContext.close()
  }
})

test("an OWNER sets the organization's floor; members see it on their Security page", async ({ browser }) => {
  const ownerContext = await browser.newContext()
  const memberContext = await browser.newContext()
  try {
    const owner = await ownerContext.newPage()
    await logIn(owner, "owner@acme.example")
    await owner.goto("/settings")
    await owner.getByRole("link", { name: "Acme" }).click()
    await expect(owner.getByRole("heading", { name: "Acme" })).toBeVisible()
    const floor = owner.getByRole("form", { name: "Access to members' accounts" })
    await expect(owner.getByText(/Applies to platform support and to Acme.s own admins/)).toBeVisible()
    await floor.getByLabel("Members' accounts always require approval").check()
    await floor.getByRole("button", { name: "Save" }).click()
    await expect(floor.getByRole("status")).toHaveText("Saved.")

    const member = await memberContext.newPage()
    await logIn(member, "member@acme.example")
    await member.goto("/account/security")
    await expect(member.getByTestId("consent-floor")).toContainText("Acme requires your approval of each access for its members")
    await expect(member.getByTestId("effective-consent")).toContainText("Support must ask you each time")

    // Members decide again (the demo data stays as it was for other specs).
    await floor.getByLabel("Members decide").check()
    await floor.getByRole("button", { name: "Save" }).click()
    await expect(floor.getByRole("status")).toHaveText("Saved.")
    await member.reload()
    await expect(member.getByTestId("consent-floor")).toHaveCount(0)

    // An ADMIN of Acme has no such control.
    const adminContext = await browser.newContext()
    const admin = await adminContext.newPage()
    await logIn(admin, "admin@acme.example")
    await admin.goto(owner.url())
    await expect(admin.getByRole("heading", { name: "Acme" })).toBeVisible()
    await expect(admin.getByRole("form", { name: "Access to members' accounts" })).toHaveCount(0)
    await adminContext.close()
  } finally {
    await ownerContext.close()
    await memberContext.close()
  }
})

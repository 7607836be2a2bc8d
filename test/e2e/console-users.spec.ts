import { expect, test, type Page } from "@playwright/test"
import { banner, logIn } from "./helpers"

/** Runs a search the way a person does: type in "Search users" and press Enter. */
async function searchUsers(page: Page, term: string) {
  await page.getByLabel("Search users").fill(term)
  await page.getByLabel("Search users").press("Enter")
  await expect(page).toHaveURL(new RegExp(`[?&]q=${encodeURIComponent(term).replace(/%20/g, "\\+")}`))
}

function directoryRows(page: Page) {
  return page.getByRole("table").locator("tbody tr")
}

function rowFor(page: Page, text: string) {
  return directoryRows(page).filter({ hasText: text })
}

/** WCAG relative luminance contrast of two computed `rgb(...)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (rgb: string) => {
    const [r, g, bl] = rgb.match(/\d+(\.\d+)?/g)!.slice(0, 3).map(Number).map((c) => {
      const s = c / 255
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
    }) as [number, number, number]
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl
  }
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}

test("search finds a user by part of the email in any case, and pages with Next and Previous", async ({ page }) => {
  await logIn(page, "support@example.com")
  await page.goto("/admin")
  await page.getByRole("navigation", { name: "Admin console" }).getByRole("link", { name: "Users" }).click()
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible()

  await searchUsers(page, "CUSTOMER-042@EXAMPLE")
  await expect(directoryRows(page)).toHaveCount(1)
  await expect(rowFor(page, "customer-042@example.net")).toBeVisible()

  await searchUsers(page, "uMa uS")
  await expect(rowFor(page, "user@example.com")).toContainText("Uma User")

  // The whole directory: pages of 25, Next and Previous by id.
  await searchUsers(page, "customer-")
  const firstPage = await directoryRows(page).locator("td:nth-child(2)").allTextContents()
  expect(firstPage).toHaveLength(25)
  await expect(page.getByText("Previous", { exact: true })).toHaveAttribute("aria-disabled", "true")
  await page.getByRole("link", { name: "Next" }).click()
  await expect(page).toHaveURL(/after=\d+/)
  const secondPage = await directoryRows(page).locator("td:nth-child(2)").allTextContents()
  expect(secondPage).toHaveLength(25)
  expect(secondPage.filter((email) => firstPage.includes(email))).toEqual([])
  await page.getByRole("link", { name: "Previous" }).click()
  await expect(page).toHaveURL(/before=\d+/)
  expect(await directoryRows(page).locator("td:nth-child(2)").allTextContents()).toEqual(firstPage)
})

test("an organization admin's directory shows only the members of their organization", async ({ page }) => {
  await logIn(page, "admin@acme.example")
  await page.goto("/admin/users")
  await expect(page.getByText("Members of the organizations you administer.")).toBeVisible()
  for (let pageNumber = 0; pageNumber < 3; pageNumber++) {
    const organizations = await directoryRows(page).locator("td:nth-child(5)").allTextContents()
    expect(organizations.length).toBeGreaterThan(0)
    for (const cell of organizations) expect(cell).toContain("Acme")
    const next = page.getByRole("link", { name: "Next" })
    if ((await next.count()) === 0) break
    // Wait for this link's own page: page 2's URL would already match a pattern like /after=/.
    const target = (await next.getAttribute("href"))!
    await next.click()
    await expect(page).toHaveURL(target)
  }
  await expect(page.getByRole("link", { name: "Next" })).toHaveCount(0) // 63 members: 3 pages

  await searchUsers(page, "member@globex.example")
  await expect(page.getByText("No users match “member@globex.example”.")).toBeVisible()
  await searchUsers(page, "Sam Superadmin")
  await expect(directoryRows(page)).toHaveCount(0)
  await searchUsers(page, "acme.example")
  await expect(rowFor(page, "member@acme.example").getByRole("button", { name: "Impersonate" })).toBeVisible()
  await expect(rowFor(page, "admin@acme.example")).toContainText("You cannot impersonate yourself")
  await expect(rowFor(page, "owner@acme.example")).toContainText("whose role is lower than yours")
})

test("the dialog refuses an empty reason and a non-http ticket link; Cancel and Escape start nothing", async ({
  page,
}) => {
  await logIn(page, "support@example.com")
  await page.goto("/admin/users?q=user%40example.com")
  const dialog = page.getByRole("dialog", { name: "Impersonate Uma User" })
  const open = rowFor(page, "user@example.com").getByRole("button", { name: "Impersonate" })

  await open.click()
  await expect(dialog).toBeVisible()
  await expect(dialog).toContainText("Uma User")
  await expect(dialog).toContainText("user@example.com")
  await expect(dialog).toContainText("at most 20 minutes")
  await expect(dialog).toContainText("All actions are logged")
  await expect(dialog.getByLabel("Reason")).toBeFocused()

  await dialog.getByRole("button", { name: "Confirm" }).click()
  await expect(dialog.getByText("Give a reason for the impersonation")).toBeVisible()
  await dialog.getByLabel("Reason").fill("Checking the invoice page")
  await dialog.getByLabel("Ticket link").fill("javascript:alert(1)")
  await dialog.getByRole("button", { name: "Confirm" }).click()
  await expect(dialog.getByText("The ticket link must be an http:// or https:// URL")).toBeVisible()
  await expect(dialog).toBeVisible()

  await dialog.getByRole("button", { name: "Cancel" }).click()
  await expect(dialog).toHaveCount(0)
  await expect(open).toBeFocused()

  await open.click()
  await dialog.getByLabel("Reason").fill("Checking the invoice page")
  await page.keyboard.press("Escape")
  await expect(dialog).toHaveCount(0)

  // Nothing started: no banner, here or on a fresh page, and still signed in as support.
  await expect(page).toHaveURL(/\/admin\/users/)
  await page.goto("/")
  await expect(page.getByTestId("signed-in-as")).toContainText("support@example.com")
  await expect(banner(page)).toHaveCount(0)
})

test("a refusal from the server is shown in words inside the dialog", async ({ context, page }) => {
  await logIn(page, "support@example.com")
  await page.goto("/admin/users?q=customer-009%40example.net")
  await rowFor(page, "customer-009@example.net").getByRole("button", { name: "Impersonate" }).click()
  const dialog = page.getByRole("dialog")
  await dialog.getByLabel("Reason").fill("Ticket 883")

  // Meanwhile, another tab of the same browser starts an impersonation: never nested.
  const otherTab = await context.newPage()
  await otherTab.goto("/admin")
  await otherTab.getByLabel("User ID or email").fill("user@example.com")
  await otherTab.getByLabel("Reason").fill("Ticket 884")
  await otherTab.getByRole("button", { name: "Switch to User" }).click()
  await expect(banner(otherTab)).toContainText("Uma User")

  await dialog.getByRole("button", { name: "Confirm" }).click()
  // The RPC route's gate answers: starting another impersonation is on the refused list.
  await expect(dialog.getByRole("alert")).toHaveText("This action is never allowed while impersonating a user, in any mode")
  await expect(dialog).toBeVisible()
  await otherTab.reload()
  await expect(banner(otherTab)).toContainText("Uma User") // still the first impersonation
  await banner(otherTab).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(otherTab).toHaveURL("/admin")
})

test("Confirm starts the impersonation and the yellow banner shows the ticket link", async ({ page }) => {
  await logIn(page, "support@example.com")
  await page.goto("/admin/users")
  await searchUsers(page, "customer-007@example.net")
  const row = rowFor(page, "customer-007@example.net")
  const name = (await row.locator("td").first().textContent())!
  await row.getByRole("button", { name: "Impersonate" }).click()
  const dialog = page.getByRole("dialog", { name: `Impersonate ${name}` })
  await dialog.getByLabel("Reason").fill("Ticket 881: cannot see invoices")
  await dialog.getByLabel("Ticket link").fill("https://tickets.example.com/T-881?tab=history")
  await dialog.getByRole("button", { name: "Confirm" }).click()

  await expect(page).toHaveURL("/")
  await expect(page.getByTestId("signed-in-as")).toContainText("customer-007@example.net")
  const notice = banner(page)
  await expect(notice).toContainText(name)
  await expect(notice).toContainText("Signed in by Sky Support")
  await expect(notice).toContainText("Ticket 881: cannot see invoices")
  const link = notice.getByRole("link", { name: "https://tickets.example.com/T-881?tab=history" })
  await expect(link).toHaveAttribute("href", "https://tickets.example.com/T-881?tab=history")

  const colours = await notice.evaluate((element) => {
    const style = getComputedStyle(element)
    const button = getComputedStyle(element.querySelector("button")!)
    return {
      background: style.backgroundColor,
      text: style.color,
      position: style.position,
      buttonBackground: button.backgroundColor,
      buttonText: button.color,
    }
  })
  expect(colours.background).toBe("rgb(253, 224, 71)") // #fde047, yellow
  expect(colours.position).toBe("sticky")
  expect(contrast(colours.background, colours.text)).toBeGreaterThanOrEqual(4.5)
  expect(contrast(colours.buttonBackground, colours.buttonText)).toBeGreaterThanOrEqual(4.5)
  await expect(notice.getByRole("button", { name: "Stop impersonating" })).toBeVisible()

  await notice.getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
  await expect(banner(page)).toHaveCount(0)
})

test("the Switch to User form's ticket link reaches the banner", async ({ page }) => {
  await logIn(page, "support@example.com")
  await page.goto("/admin")
  await page.getByLabel("User ID or email").fill("customer-008@example.net")
  await page.getByLabel("Reason").fill("Ticket 882")
  await page.getByLabel("Ticket link").fill("http://helpdesk.example/882")
  await page.getByRole("button", { name: "Switch to User" }).click()
  await expect(page).toHaveURL("/")
  await expect(banner(page).getByRole("link", { name: "http://helpdesk.example/882" })).toHaveAttribute(
    "href",
    "http://helpdesk.example/882",
  )
  await banner(page).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
})

test("the organization page shows Impersonate to the Acme admin, not to a member, and 404s an outsider", async ({
  browser,
}) => {
  const adminPage = await (await browser.newContext()).newPage()
  await logIn(adminPage, "admin@acme.example")
  await adminPage.goto("/admin/users?q=member%40acme.example")
  await rowFor(adminPage, "member@acme.example").getByRole("link", { name: "Acme" }).click()
  await expect(adminPage).toHaveURL(/\/organizations\/\d+$/)
  const acmeUrl = new URL(adminPage.url()).pathname
  await expect(adminPage.getByRole("heading", { name: "Acme", level: 1 })).toBeVisible()
  await expect(adminPage.getByRole("link", { name: "Members" })).toHaveAttribute("aria-current", "page")
  const mia = rowFor(adminPage, "member@acme.example")
  await expect(mia).toContainText("Mia Member")
  await expect(mia).toContainText("Member")
  await expect(rowFor(adminPage, "owner@acme.example").getByRole("button", { name: "Impersonate" })).toHaveCount(0)
  await expect(rowFor(adminPage, "owner@acme.example")).toContainText("Owner")
  // The same dialog as the directory's.
  await mia.getByRole("button", { name: "Impersonate" }).click()
  const dialog = adminPage.getByRole("dialog", { name: "Impersonate Mia Member" })
  await expect(dialog).toContainText("All actions are logged")
  await dialog.getByRole("button", { name: "Cancel" }).click()
  await expect(dialog).toHaveCount(0)

  const memberPage = await (await browser.newContext()).newPage()
  await logIn(memberPage, "member@acme.example")
  const asMember = await memberPage.goto(acmeUrl)
  expect(asMember?.status()).toBe(200)
  await expect(rowFor(memberPage, "admin@acme.example")).toContainText("Adam Admin")
  await expect(memberPage.getByRole("button", { name: "Impersonate" })).toHaveCount(0)

  const outsiderPage = await (await browser.newContext()).newPage()
  await logIn(outsiderPage, "member@globex.example")
  const asOutsider = await outsiderPage.goto(acmeUrl)
  expect(asOutsider?.status()).toBe(404)
  await expect(outsiderPage.getByText("Adam Admin")).toHaveCount(0)
  expect((await outsiderPage.goto("/organizations/abc"))?.status()).toBe(404)
  expect((await outsiderPage.goto("/organizations/999999"))?.status()).toBe(404)
})

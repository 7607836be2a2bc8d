import { expect, test, type Page } from "@playwright/test"
import { banner, logIn, switchToUser } from "./helpers"

/** Projects in a real browser: create, rename, share (the teammate sees it), archive; read-only refusal. */

const uniqueName = (label: string) => `${label} ${Date.now().toString(36)}`

function projectRow(page: Page, name: string) {
  return page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) })
}

async function createProject(page: Page, name: string) {
  await page.goto("/projects")
  await page.getByLabel("Project name").fill(name)
  await page.getByRole("button", { name: "Create project" }).click()
  await expect(projectRow(page, name)).toBeVisible()
  await expect(page.getByLabel("Project name")).toHaveValue("")
}

test("a customer creates, renames, shares and archives a project; the teammate sees it", async ({ page, browser }) => {
  await logIn(page, "user@example.com")
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }).click()
  await expect(page.getByRole("heading", { name: "Projects", level: 1 })).toBeVisible()
  // The seed's projects, one of them Pat's, shared with Uma.
  await expect(projectRow(page, "Website redesign")).toContainText("Umbrella")
  await expect(projectRow(page, "Website redesign")).toContainText("Last changed by Uma User")
  await expect(projectRow(page, "Quarterly report")).toContainText("Pat Partner")

  const name = uniqueName("Launch plan")
  await createProject(page, name)
  await expect(projectRow(page, name)).toContainText("Uma User (you)")
  await projectRow(page, name).getByRole("link", { name }).click()
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible()
  await expect(page.getByText("Not shared with anyone yet.")).toBeVisible()

  // A bad name is refused in words; the project keeps its name.
  await page.getByLabel("Name", { exact: true }).fill("   ")
  await page.getByRole("button", { name: "Rename" }).click()
  await expect(page.getByText("Give the project a name")).toBeVisible()

  const renamed = `${name} (final)`
  await page.getByLabel("Name", { exact: true }).fill(renamed)
  await page.getByRole("button", { name: "Rename" }).click()
  await expect(page.getByRole("heading", { name: renamed, level: 1 })).toBeVisible()
  await expect(page.getByText("Last changed by Uma User", { exact: true })).toBeVisible()

  await page.getByLabel("Share with (email)").fill("member@globex.example")
  await page.getByRole("button", { name: "Share" }).click()
  await expect(page.getByRole("form", { name: "Share project" }).getByRole("alert")).toHaveText(
    "No member of Umbrella has the email member@globex.example",
  )
  await page.getByLabel("Share with (email)").fill("pat@example.com")
  await page.getByRole("button", { name: "Share" }).click()
  await expect(page.getByRole("status")).toHaveText("Shared with Pat Partner. They were sent an email.")
  await expect(page.getByRole("list", { name: "Members" })).toContainText("Pat Partner (pat@example.com)")

  const pat = await (await browser.newContext()).newPage()
  await logIn(pat, "pat@example.com")
  await pat.goto("/projects")
  await expect(projectRow(pat, renamed)).toContainText("Uma User")
  await expect(projectRow(pat, renamed).getByRole("button", { name: /Archive/ })).toHaveCount(0)

  await page.getByRole("button", { name: `Archive ${renamed}` }).click()
  await expect(page.getByText("This project is archived.")).toBeVisible()
  await expect(page.getByRole("button", { name: "Rename" })).toHaveCount(0)
  await page.goto("/projects")
  await expect(projectRow(page, "Website redesign")).toBeVisible()
  await expect(projectRow(page, renamed)).toHaveCount(0)
  await page.getByLabel("Show archived projects").check()
  await expect(projectRow(page, renamed)).toContainText("(archived)")
})

test("someone else's project is not found", async ({ page }) => {
  await logIn(page, "member@globex.example")
  await page.goto("/projects")
  await expect(page.getByText("No projects yet.")).toBeVisible()
  await page.goto("/projects/1")
  await expect(page.getByRole("alert").filter({ hasText: "Project not found" })).toBeVisible()
  expect((await page.goto("/projects/abc"))?.status()).toBe(404)
})

test("support impersonating read-only sees the projects and is refused a rename, in the page", async ({ page }) => {
  await logIn(page, "support@example.com")
  await switchToUser(page, "user@example.com", "Ticket 77: project name looks wrong")
  await expect(banner(page)).toContainText("Uma User")
  await page.goto("/projects")
  await projectRow(page, "Checkout flow fixes").getByRole("link", { name: "Checkout flow fixes" }).click()
  await expect(page.getByRole("heading", { name: "Checkout flow fixes", level: 1 })).toBeVisible()
  await page.getByLabel("Name", { exact: true }).fill("Renamed by support")
  await page.getByRole("button", { name: "Rename" }).click()
  await expect(page.getByRole("form", { name: "Rename project" }).getByRole("alert")).toHaveText(
    "Read-only impersonation: this action is not allowed",
  )
  await page.reload()
  await expect(page.getByRole("heading", { name: "Checkout flow fixes", level: 1 })).toBeVisible()
  await banner(page).getByRole("button", { name: "Stop impersonating" }).click()
  await expect(page).toHaveURL("/admin")
})

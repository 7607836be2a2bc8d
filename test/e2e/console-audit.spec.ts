import fs from "node:fs"
import { expect, test, type Locator, type Page } from "@playwright/test"
import { csvObjects } from "../helpers/csv"
import { logIn } from "./helpers"

/**
 * The audit log at /admin/audit on the seeded demo history (db/demoAuditHistory.ts): events
 * listed and filtered, "Download CSV" holding exactly the filtered rows of every page, the
 * chart's 30 bars, and an organization admin limited to their organization.
 */

const CHART = "Impersonations per day, last 30 days"

function eventsTable(page: Page): Locator {
  return page.getByRole("table", { name: "Audit events, newest first" })
}

/** The page's rows as {column header: cell text}. */
async function tableRows(page: Page): Promise<Array<Record<string, string>>> {
  const table = eventsTable(page)
  const headers = await table.locator("thead th").allInnerTexts()
  const rows = await table.locator("tbody tr").all()
  return Promise.all(
    rows.map(async (row) => {
      const cells = await row.locator("td").allInnerTexts()
      return Object.fromEntries(headers.map((header, i) => [header, cells[i]?.trim() ?? ""]))
    }),
  )
}

/** Every row of the current filter, following "Older" to the last page. */
async function allPages(page: Page): Promise<Array<Record<string, string>>> {
  const rows = await tableRows(page)
  const older = page
    .getByRole("navigation", { name: "Audit log pages" })
    .getByRole("link", { name: "Older" })
  while ((await older.count()) > 0) {
    const url = page.url()
    await older.click()
    await expect(page).not.toHaveURL(url)
    rows.push(...(await tableRows(page)))
  }
  return rows
}

async function downloadCsv(page: Page) {
  const downloading = page.waitForEvent("download")
  await page.getByRole("link", { name: "Download CSV" }).click()
  const download = await downloading
  expect(download.suggestedFilename()).toMatch(/^audit-events-\d{4}-\d{2}-\d{2}\.csv$/)
  return csvObjects(fs.readFileSync((await download.path())!, "utf8"))
}

test("the audit log lists events, filters them, and downloads exactly the filtered rows", async ({
  page,
}) => {
  await logIn(page, "superadmin@example.com")
  await page.goto("/admin")
  await page.getByRole("link", { name: "Audit log" }).click()
  await expect(page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible()
  await expect(page.getByTestId("audit-chain-status")).toHaveText(
    /^Verified up to event #\d+ at \d{4}-\d{2}-\d{2} /,
  )

  // Unfiltered: a full first page of the demo history, newest first, and older pages.
  const unfiltered = await tableRows(page)
  expect(unfiltered).toHaveLength(50)
  const ids = unfiltered.map((row) => Number(row.Event))
  expect([...ids].sort((a, b) => b - a)).toEqual(ids)
  expect(new Set(unfiltered.map((row) => row.Action)).size).toBeGreaterThan(1)

  // A filter narrows the list: one admin's starts only, across every page.
  await page.getByLabel("Admin", { exact: true }).fill("SUPPORT@example.com")
  await page.getByLabel("Action", { exact: true }).selectOption("IMPERSONATION_STARTED")
  await page.getByRole("button", { name: "Filter" }).click()
  await expect(page).toHaveURL(/admin=SUPPORT%40example.com/)
  await expect(page).toHaveURL(/action=IMPERSONATION_STARTED/)
  const filtered = await allPages(page)
  expect(filtered.length).toBeGreaterThan(20)
  for (const row of filtered) {
    expect(row.Action).toBe("IMPERSONATION_STARTED")
    expect(row.Admin).toBe("support@example.com")
  }
  expect(filtered.map((row) => row.Event)).not.toEqual(unfiltered.map((row) => row.Event))

  // "Download CSV" from the last page still holds every page's rows, and nothing else.
  const { header, rows } = await downloadCsv(page)
  expect(header.slice(0, 3)).toEqual(["id", "at", "action"])
  expect(rows.map((row) => row.id)).toEqual(filtered.map((row) => row.Event))
  for (const row of rows) {
    expect(row.action).toBe("IMPERSONATION_STARTED")
    expect(row.admin_email).toBe("support@example.com")
  }
  const shown = filtered[0]!
  const csvFirst = rows[0]!
  expect(csvFirst.user_email).toBe(shown.User)
  expect(shown["Time (UTC)"]).toBe(`${csvFirst.at!.slice(0, 10)} ${csvFirst.at!.slice(11, 19)} UTC`)

  // Bad values get a message, not an error page.
  const response = await page.goto("/admin/audit?from=2026-02-30&action=EVERYTHING")
  expect(response?.status()).toBe(200)
  const problems = page.getByRole("alert").filter({ hasText: "From: not a calendar date" })
  await expect(problems).toContainText("Action: choose one of the listed actions")
  await expect(eventsTable(page)).toHaveCount(0)
})

test("the chart draws one bar per day for the last 30 days", async ({ page }) => {
  await logIn(page, "support@example.com")
  await page.goto("/admin/audit")
  const chart = page.getByRole("img", { name: CHART })
  await expect(chart).toBeVisible()
  const bars = chart.getByTestId("impersonations-day-bar")
  await expect(bars).toHaveCount(30)

  // The days are the 30 UTC days ending today, in order, and the bars match the daily counts.
  const days = await bars.evaluateAll((rects) => rects.map((rect) => rect.getAttribute("data-day")))
  const today = new Date()
  const expected = Array.from({ length: 30 }, (_, i) =>
    new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - 29 + i))
      .toISOString()
      .slice(0, 10),
  )
  expect(days).toEqual(expected)
  const drawn = await bars.evaluateAll((rects) =>
    rects.map((rect) => ({
      count: Number(rect.getAttribute("data-count")),
      height: Number(rect.getAttribute("height")),
    })),
  )
  await page.getByText(/impersonations in the last 30 days/).click() // opens the daily counts
  const table = await page.locator("table.audit-daily tbody tr").allInnerTexts()
  expect(drawn.map((bar) => bar.count)).toEqual(table.map((line) => Number(line.split("\t")[1])))
  expect(drawn.filter((bar) => bar.count > 0).length).toBeGreaterThan(10)
  // Taller bars for more impersonations; empty days drawn flat.
  for (const bar of drawn) expect(bar.height > 0).toBe(bar.count > 0)
  const byCount = [...drawn].sort((a, b) => a.count - b.count)
  expect(byCount.at(-1)!.height).toBeGreaterThan(byCount.find((bar) => bar.count > 0)!.height)
})

test("an organization admin sees only their organization's events", async ({ page }) => {
  await logIn(page, "owner@acme.example")
  await page.goto("/admin/audit")
  await expect(page.getByText("Events of the organizations you administer.")).toBeVisible()
  const rows = await allPages(page)
  expect(rows.length).toBeGreaterThan(0)
  for (const row of rows) expect(row.Organization).toBe("Acme")
  const { rows: csv } = await downloadCsv(page)
  expect(csv.map((row) => row.id)).toEqual(rows.map((row) => row.Event))
  expect(new Set(csv.map((row) => row.organization))).toEqual(new Set(["Acme"]))
  await expect(
    page.getByRole("img", { name: CHART }).getByTestId("impersonations-day-bar"),
  ).toHaveCount(30)

  // Another organization's events are refused, by name, in words.
  await page.getByLabel("Organization", { exact: true }).fill("Globex")
  await page.getByRole("button", { name: "Filter" }).click()
  await expect(
    page.getByRole("alert").filter({ hasText: "organizations you administer" }),
  ).toHaveText("You can only see the audit events of organizations you administer")
  await expect(eventsTable(page)).toHaveCount(0)
  const csvResponse = await page.request.get("/admin/audit/export?organization=Globex")
  expect(csvResponse.status()).toBe(403)
})

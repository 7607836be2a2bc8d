import { expect, test } from "@playwright/test"
import { logIn } from "./helpers"

const SESSION = "safe_imp_sSessionToken"

test("a garbage session cookie renders the page signed out and is cleared", async ({ request }) => {
  const response = await request.get("/", { headers: { cookie: `${SESSION}=not-a-session-token` } })
  expect(response.status()).toBe(200)
  expect(await response.text()).toContain(">Log in<")
  const cleared = response.headersArray().filter((h) => h.name.toLowerCase() === "set-cookie" && h.value.startsWith(`${SESSION}=;`))
  expect(cleared).toHaveLength(1)
  expect(cleared[0]!.value).toMatch(/Expires=Thu, 01 Jan 1970/i)
})

test("a session without its anti-CSRF cookie signs out instead of locking the user out", async ({ page, context }) => {
  await logIn(page, "support@example.com")
  await context.clearCookies({ name: "safe_imp_sAntiCsrfToken" })
  const response = await page.goto("/")
  expect(response?.status()).toBe(200)
  await expect(page.getByRole("heading", { name: "Welcome" })).toBeVisible()
  expect((await context.cookies()).map((c) => c.name)).not.toContain(SESSION)
  await logIn(page, "support@example.com")
})

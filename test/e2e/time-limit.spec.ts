import { expect, test } from "@playwright/test"
import { SHORT_TTL_PORT } from "../../playwright.config"
import { banner, logIn, switchToUser } from "./helpers"

test.use({ baseURL: `http://localhost:${SHORT_TTL_PORT}` })

test("with a 5-second limit the banner counts down and the session returns to the admin", async ({
  page,
}) => {
  await logIn(page, "support@example.com")
  await switchToUser(page, "user@example.com", "Short session check")
  await expect(page).toHaveURL("/")
  const countdown = banner(page).getByTestId("impersonation-countdown")
  await expect(countdown).toHaveText(/^0:0[1-5]$/)
  const first = Number((await countdown.textContent())!.split(":")[1])
  await expect
    .poll(async () => Number((await countdown.textContent())?.split(":")[1] ?? 99), { timeout: 4000 })
    .toBeLessThan(first)

  // No click: at the limit the browser is back in the admin's own session.
  await expect(banner(page)).toHaveCount(0, { timeout: 15_000 })
  await expect(page).toHaveURL("/admin")
  await expect(page.getByText("Signed in as Sky Support (support@example.com).")).toBeVisible()
})

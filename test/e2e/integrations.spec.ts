import { spawn, type ChildProcess } from "node:child_process"
import { expect, test } from "@playwright/test"
import { banner, logIn, switchToUser } from "./helpers"

/**
 * Issue 8, item 6: a superadmin adds a webhook endpoint on /admin/integrations (the secret is
 * shown once), the server's own outbox worker delivers a real impersonation start to it, signed
 * so that the README's receiver (run as the README says: `node webhook-receiver.example.mjs`)
 * accepts it, and the delivery is listed on the page.
 */

// A port of this run's own (E2E_PORT and the next one are the app's servers).
const RECEIVER_PORT = Number(process.env.E2E_PORT ?? 3100) + 9

/** Starts the README's receiver with `secret`; `received` fills with the lines it prints for valid events. */
async function startReadmeReceiver(secret: string) {
  const received: string[] = []
  const child: ChildProcess = spawn(process.execPath, ["integrations/webhook-receiver.example.mjs"], {
    env: { ...process.env, WEBHOOK_SECRET: secret, PORT: String(RECEIVER_PORT) },
    stdio: ["ignore", "pipe", "inherit"],
  })
  let output = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    output += chunk.toString()
    received.splice(0, received.length, ...output.split("\n").filter((line) => line.startsWith("Received ")))
  })
  await expect.poll(() => output, { timeout: 10_000 }).toContain("Listening for webhooks")
  return { received, stop: () => child.kill() }
}

test("a superadmin adds an endpoint, sees its secret once, and the next impersonation reaches it signed", async ({ browser }) => {
  const url = `http://127.0.0.1:${RECEIVER_PORT}/hooks/${Date.now()}`
  let receiver: Awaited<ReturnType<typeof startReadmeReceiver>> | null = null

  const superadminContext = await browser.newContext()
  const supportContext = await browser.newContext()
  try {
    const page = await superadminContext.newPage()
    await logIn(page, "superadmin@example.com")
    await page.goto("/admin")
    await page.getByRole("navigation", { name: "Admin console" }).getByRole("link", { name: "Integrations" }).click()
    await expect(page).toHaveURL("/admin/integrations")
    await expect(page.getByRole("heading", { name: "Integrations" })).toBeVisible()
    await page.waitForLoadState("networkidle")

    // A URL that is not http(s) is refused in words.
    await page.getByLabel("Endpoint URL").fill("ftp://hooks.example.com/x")
    await page.getByRole("button", { name: "Add endpoint" }).click()
    await expect(page.getByRole("form", { name: "Add webhook endpoint" }).getByRole("alert").first()).toContainText("http://")

    await page.getByLabel("Endpoint URL").fill(url)
    await page.getByLabel("Description (optional)").fill("Security team (e2e)")
    await page.getByRole("button", { name: "Add endpoint" }).click()
    const secretBox = page.getByTestId("new-webhook-secret")
    await expect(secretBox).toHaveText(/^whsec_[A-Za-z0-9_-]{43}$/)
    const secret = (await secretBox.textContent())!
    receiver = await startReadmeReceiver(secret)
    const row = page.getByRole("row").filter({ hasText: url })
    await expect(row).toContainText("Security team (e2e)")
    await expect(row).toContainText("Enabled")

    // Shown once: not after a reload.
    await page.reload()
    await expect(page.getByTestId("new-webhook-secret")).toHaveCount(0)
    await expect(page.getByText(secret)).toHaveCount(0)

    // Support starts an impersonation: the event goes out through the server's worker.
    const support = await supportContext.newPage()
    await logIn(support, "support@example.com")
    await switchToUser(support, "user@example.com", `Ticket ${Date.now()}: webhook e2e`)
    await expect(banner(support)).toContainText("Uma User")
    await expect.poll(() => receiver!.received.filter((line) => line.startsWith("Received impersonation.started evt_")).length, { timeout: 20_000 }).toBe(1)

    await page.reload()
    const delivery = page.getByRole("row").filter({ hasText: "impersonation.started" }).filter({ hasText: url })
    await expect(delivery).toContainText("Delivered")

    // Support sees neither the page nor its link.
    await support.getByRole("button", { name: "Stop impersonating" }).click()
    await expect(banner(support)).toHaveCount(0)
    await support.goto("/admin/integrations")
    await expect(support.getByRole("heading", { name: "Access denied" })).toBeVisible()
    await support.goto("/admin")
    await expect(support.getByRole("navigation", { name: "Admin console" }).getByRole("link", { name: "Integrations" })).toHaveCount(0)

    // Delete (soft): gone from the list.
    page.once("dialog", (dialog) => void dialog.accept())
    await page.getByRole("button", { name: `Delete ${url}` }).click()
    await expect(page.getByRole("row").filter({ hasText: "Security team (e2e)" }).filter({ hasText: "Enabled" })).toHaveCount(0)
  } finally {
    await superadminContext.close()
    await supportContext.close()
    receiver?.stop()
  }
})

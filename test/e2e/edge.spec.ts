import http from "node:http"
import { expect, test } from "@playwright/test"
import { BASE_PORT } from "../../playwright.config"
import { logIn } from "./helpers"

const SESSION = "safe_imp_sSessionToken"

test("pages carry the security headers and a script nonce, and npm start's request id", async ({ request }) => {
  const response = await request.get("/login")
  expect(response.status()).toBe(200)
  const headers = response.headers()
  const csp = headers["content-security-policy"] ?? ""
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1]
  expect(nonce).toBeTruthy()
  expect(csp).toContain("frame-ancestors 'none'")
  expect(csp).not.toContain("unsafe-eval")
  expect(headers["x-frame-options"]).toBe("DENY")
  expect(headers["x-content-type-options"]).toBe("nosniff")
  expect(headers["referrer-policy"]).toBe("same-origin")
  expect(headers["strict-transport-security"]).toMatch(/^max-age=\d+/)
  expect(headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/)
  // Next put the nonce on its scripts, so the browser runs them.
  expect(await response.text()).toContain(`nonce="${nonce}"`)
  const second = await request.get("/login")
  expect(second.headers()["content-security-policy"]).not.toContain(nonce!)

  const api = await request.post("/api/rpc/getCurrentUser", { data: { params: null } })
  expect(api.headers()["content-security-policy"]).toBe("default-src 'none'; frame-ancestors 'none'")
  expect(api.headers()["x-content-type-options"]).toBe("nosniff")
  expect(api.headers()["x-frame-options"]).toBe("DENY")
})

test("with the CSP the page hydrates: a client-side form signs in, no CSP violation", async ({ page }) => {
  const violations: string[] = []
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text())
  })
  await logIn(page, "support@example.com")
  await page.getByRole("link", { name: "Settings" }).click()
  await expect(page.getByRole("heading", { name: "Settings", level: 1 })).toBeVisible()
  expect(violations).toEqual([])
})

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

test("a chunked RPC body is refused at the limit while the upload is still going", async () => {
  const chunk = Buffer.alloc(1024 * 1024, "a")
  const planned = 200 // MiB
  const result = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
    let sent = 0
    const req = http.request(
      { host: "localhost", port: BASE_PORT, path: "/api/rpc/login", method: "POST", headers: { "content-type": "application/json" } },
      (res) => {
        resolve({ status: res.statusCode ?? 0, sent })
        req.destroy()
      },
    )
    req.on("error", (error) => (sent >= planned ? reject(error) : undefined))
    req.write('{"params":{"email":"')
    const pump = () => {
      while (sent < planned && !req.destroyed) {
        sent += 1
        if (!req.write(chunk)) return void req.once("drain", pump)
      }
      if (!req.destroyed) req.end('"}}')
    }
    pump()
  })
  expect(result.status).toBe(413)
  expect(result.sent).toBeLessThan(planned / 4)
})

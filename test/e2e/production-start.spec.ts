import { execFileSync, spawn } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { expect, test } from "@playwright/test"
import { BASE_PORT } from "../../playwright.config"
import { DEMO_USERS } from "../../db/demoAccounts"

/** A production server (`next start`, no DEMO_MODE) refuses the published demo accounts and a missing secret. */

const bin = (name: string) => path.join(process.cwd(), "node_modules", ".bin", name)

// Without NODE_ENV: `next start` sets production itself.
function productionEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !["DEMO_MODE", "SESSION_SECRET_KEY", "NODE_ENV"].includes(key)) env[key] = value
  }
  const result = { ...env, DATABASE_URL: "", PGLITE_DATA_DIR: dataDir, NEXT_TELEMETRY_DISABLED: "1", AUDIT_HMAC_KEY: "production-audit-key-that-is-long-enough-01", ...extra }
  return result as unknown as NodeJS.ProcessEnv
}

/** Starts `next start` and waits for it to exit; fails if it is still serving after 60 s. */
function startServer(port: number, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(bin("next"), ["start", "-p", String(port)], { cwd: process.cwd(), env })
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill()
      resolve({ code: null, output })
    }, 60_000)
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

test("a demo server shows the demo strip on every page and the demo accounts on the login page", async ({ page }) => {
  await page.goto("/login")
  await expect(page.getByRole("note")).toHaveText("Demo data: do not use in production")
  const accounts = page.getByRole("region", { name: "Demo accounts" })
  await expect(accounts.getByRole("row", { name: /superadmin@example\.com Sam Superadmin, superadmin demo-password-1/ })).toBeVisible()
  await page.goto("/")
  await expect(page.getByRole("note")).toHaveText("Demo data: do not use in production")
})

test("production refuses to start while a demo account keeps the demo password", async () => {
  test.setTimeout(150_000)
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-refusal-"))
  const env = productionEnv(dataDir, { SESSION_SECRET_KEY: "production-secret-that-is-long-enough-0123" })
  try {
    execFileSync(bin("tsx"), ["db/migrate.ts"], { env, stdio: "ignore" })
    execFileSync(bin("tsx"), ["db/seeds.ts"], { env, stdio: "ignore" })
    const { code, output } = await startServer(BASE_PORT + 2, env)
    expect(code, output).toBe(1)
    expect(output).toContain(
      `Refusing to start in production: ${DEMO_USERS.length} demo account(s) still use the published demo password`,
    )
    expect(output).toContain("superadmin@example.com")
    expect(output).toContain("set DEMO_MODE=true")
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
})

test("production refuses to start without SESSION_SECRET_KEY outside demo mode", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-secret-"))
  try {
    const { code, output } = await startServer(BASE_PORT + 3, productionEnv(dataDir))
    expect(code, output).toBe(1)
    expect(output).toContain("SESSION_SECRET_KEY is required in production")
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
})

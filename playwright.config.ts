import os from "node:os"
import path from "node:path"
import { defineConfig, devices } from "@playwright/test"

/**
 * End-to-end specs in real Chromium (Debian's package; Playwright cannot download a browser
 * here). Two servers of the same production build, each on its own throwaway embedded
 * database: one with the default time limit, one with IMPERSONATION_TTL_SECONDS=5.
 */
const runId = `${process.pid}`
const dataRoot = process.env.E2E_DATA_DIR ?? path.join(os.tmpdir(), `impersonation-e2e-${runId}`)
export const BASE_PORT = Number(process.env.E2E_PORT ?? 3100)
export const SHORT_TTL_PORT = BASE_PORT + 1

function server(port: number, name: string, extraEnv: Record<string, string> = {}) {
  const dataDir = path.join(dataRoot, name)
  return {
    command: "npx tsx db/migrate.ts && npx tsx db/seeds.ts && npm start",
    cwd: process.cwd(),
    url: `http://localhost:${port}/login`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      PORT: String(port),
      PGLITE_DATA_DIR: dataDir,
      DATABASE_URL: "",
      NEXT_TELEMETRY_DISABLED: "1",
      SESSION_SECRET_KEY: "e2e-secret-key-that-is-long-enough-0123456789",
      AUDIT_HMAC_KEY: "e2e-audit-key-that-is-long-enough-0123456789",
      // The servers run on the seeded demo accounts, which production refuses outside demo mode.
      DEMO_MODE: "true",
      ...extraEnv,
    },
  }
}

export default defineConfig({
  testDir: "test/e2e",
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: process.env.CI ? 1 : 0,
  timeout: 60_000,
  reporter: process.env.CI ? [["list"]] : [["list"]],
  use: {
    baseURL: `http://localhost:${BASE_PORT}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"], channel: undefined } }],
  webServer: [
    server(BASE_PORT, "default"),
    server(SHORT_TTL_PORT, "short-ttl", { IMPERSONATION_TTL_SECONDS: "5" }),
  ],
})

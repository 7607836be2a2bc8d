import crypto from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import { withBlitz } from "@blitzjs/next"
import type { NextConfig } from "next"
import { demoModeFromEnv } from "./blitz.config"

/**
 * Blitz signs tokens with SESSION_SECRET_KEY. In development and in a demo (quickstart), a
 * random key is generated once and kept in the git-ignored .data/ folder, so sessions survive
 * a restart; in production a real deployment must set it (blitz.config.ts refuses otherwise).
 */
function ensureSessionSecret() {
  if (process.env.SESSION_SECRET_KEY) return
  if (process.env.NODE_ENV === "production" && !demoModeFromEnv()) return
  const file = path.join(process.cwd(), ".data", "session-secret")
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, crypto.randomBytes(32).toString("hex"), { mode: 0o600 })
  }
  process.env.SESSION_SECRET_KEY = fs.readFileSync(file, "utf8").trim()
}
ensureSessionSecret()

const config: NextConfig = {
  // Native addons and WASM/data files that must be loaded from node_modules, not bundled.
  serverExternalPackages: [
    "@electric-sql/pglite",
    "pglite-prisma-adapter",
    "pg",
    "@prisma/adapter-pg",
    "secure-password",
    "sodium-native",
    "pino",
  ],
  experimental: { authInterrupts: true },
  poweredByHeader: false,
  async headers() {
    const everywhere = [
      { key: "X-Frame-Options", value: "DENY" },
      { key: "X-Content-Type-Options", value: "nosniff" },
      { key: "Referrer-Policy", value: "same-origin" },
    ]
    // Pages get a CSP with a per-request script nonce (and HSTS) from proxy.ts; the API serves no markup.
    const api = [{ key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'" }]
    return [
      { source: "/:path*", headers: everywhere },
      { source: "/api/:path*", headers: api },
      // The ticket is in this page's URL: not even same-origin requests may carry it as a referrer.
      { source: "/impersonate", headers: [{ key: "Referrer-Policy", value: "no-referrer" }] },
    ]
  },
  reactStrictMode: true,
}

export default withBlitz(config)

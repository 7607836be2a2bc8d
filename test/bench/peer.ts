/**
 * The peer `npm run bench` measures ours beside: a small Better Auth server (node:http and
 * better-auth's own handler, email and password on, the admin plugin with its defaults) over
 * PostgreSQL through a `pg` Pool. Run as a child process, so that its CPU is its own:
 *   tsx test/bench/peer.ts migrate   creates Better Auth's tables with its migration API
 *   tsx test/bench/peer.ts serve     serves on PEER_PORT until SIGTERM
 * Env: DATABASE_URL, PEER_PORT. Rate limiting is off (its production default, 100 requests per
 * 10 s per address, would only measure the limiter); everything else is Better Auth's default.
 */
import http from "node:http"
import { betterAuth } from "better-auth"
import { getMigrations } from "better-auth/db/migration"
import { toNodeHandler } from "better-auth/node"
import { admin } from "better-auth/plugins/admin"
import { Pool } from "pg"

const PEER_SECRET = "bench-peer-secret-that-is-long-enough-0123456789"

function peerAuth(pool: Pool, baseURL: string) {
  return betterAuth({
    database: pool,
    baseURL,
    secret: PEER_SECRET,
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    plugins: [admin()],
  })
}

async function main() {
  const command = process.argv[2]
  const url = process.env.DATABASE_URL
  const port = Number(process.env.PEER_PORT ?? 0)
  if (!url || (command !== "migrate" && command !== "serve")) {
    throw new Error("usage: DATABASE_URL=... PEER_PORT=... tsx test/bench/peer.ts migrate|serve")
  }
  // pg's default pool size, as an app that passes a Pool with no options would have.
  const pool = new Pool({ connectionString: url, max: 10 })
  const auth = peerAuth(pool, `http://127.0.0.1:${port}`)
  if (command === "migrate") {
    const { runMigrations } = await getMigrations(auth.options)
    await runMigrations()
    await pool.end()
    return
  }
  const handler = toNodeHandler(auth)
  const server = http.createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200).end("ok")
      return
    }
    void handler(req, res)
  })
  server.listen(port, "127.0.0.1", () => console.log(`Peer ready on http://127.0.0.1:${port}`))
  process.once("SIGTERM", () => {
    server.close()
    server.closeAllConnections()
    void pool.end().finally(() => process.exit(0))
  })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})

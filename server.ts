import { parseArgs } from "node:util"
import { createEdgeServer } from "./app/core/edgeServer"

/**
 * `npm start`: the production server, as `next start` with the same PORT / -p / -H, but
 * through createEdgeServer so the app learns the real peer address.
 */
async function main() {
  const { values } = parseArgs({
    options: { port: { type: "string", short: "p" }, hostname: { type: "string", short: "H" } },
  })
  const port = Number(values.port ?? process.env.PORT ?? 3000)
  // Like `next start`: all interfaces unless told otherwise.
  const hostname = values.hostname
  Object.assign(process.env, { NODE_ENV: "production" })
  const { default: next } = await import("next")
  const app = next({ dev: false, hostname: hostname ?? "localhost", port })
  await app.prepare()
  const handle = app.getRequestHandler()
  const server = createEdgeServer((req, res) => handle(req, res))
  server.listen(port, hostname, () => {
    console.log(`Ready on http://${hostname ?? "localhost"}:${port}`)
  })
  const shutdown = (signal: string) => {
    console.log(`${signal}: closing the server`)
    server.close(() => void app.close().finally(() => process.exit(0)))
    server.closeIdleConnections()
    // Open keep-alive or streaming connections must not hold the shutdown forever.
    setTimeout(() => process.exit(0), 5_000).unref()
  }
  process.once("SIGINT", shutdown)
  process.once("SIGTERM", shutdown)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})

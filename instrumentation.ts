/**
 * Runs once when the server starts. On the embedded engine the server takes the data folder's
 * lock (and migrates) now, not at its first query, so that a second process, or a second
 * server, fails at once with a message naming the holder instead of racing it later. A
 * production server without demo mode also refuses while a demo account keeps the demo password.
 * Then the outbox worker starts (mailers/worker.ts).
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return
  let demoMode = false
  try {
    // A bad setting stops the server now rather than failing every request later.
    demoMode = (await import("app/core/serverConfig")).serverConfig.demoMode
    const { auditKey } = await import("app/audit/key")
    auditKey() // production without AUDIT_HMAC_KEY refuses to start
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
  const { engineFromEnv, openEmbedded, describeEngine } = await import("db/engine")
  const engine = engineFromEnv()
  try {
    if (engine.kind === "pglite") {
      await openEmbedded(engine.dataDir)
      console.log(`Database: ${describeEngine(engine)}`)
    }
    if (process.env.NODE_ENV === "production" && !demoMode) {
      const { demoAccountsOnDemoPassword, demoPasswordRefusal } = await import("app/auth/demoAccounts")
      const flagged = await demoAccountsOnDemoPassword()
      if (flagged.length > 0) {
        console.error(demoPasswordRefusal(flagged))
        process.exit(1)
      }
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
  // From here on, every line the server prints is JSON with its request id.
  const { routeConsoleThroughLogger } = await import("app/core/log")
  routeConsoleThroughLogger()
  await startInProcessOutboxWorker()
}

/**
 * Receipts and webhooks leave through the outbox worker, which runs in every server process
 * (OUTBOX_WORKER=false turns it off, e.g. when `npm run worker` processes do the job). Its
 * failures are logged, never thrown: mail or webhooks cannot take the server down.
 */
async function startInProcessOutboxWorker() {
  const { serverConfig } = await import("app/core/serverConfig")
  if (!serverConfig.outbox.inProcessWorker) return
  const { startOutboxWorker } = await import("mailers/worker")
  const worker = startOutboxWorker()
  const stop = () => void worker.stop()
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
}

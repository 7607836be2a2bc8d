import db, { engine } from "db"
import { closeEmbedded, describeEngine } from "db/engine"
import { serverConfig } from "app/core/serverConfig"
import { runOutboxPass, startOutboxWorker } from "./worker"

/**
 * `npm run worker`: the outbox worker as a process of its own (any number may run beside the
 * servers on PostgreSQL; on the embedded database the folder allows one process, so there the
 * server's own worker does the job). `npm run worker -- --once` delivers what is due now and exits.
 * SIGTERM or SIGINT: finishes the pass in progress, then exits.
 */
async function main() {
  const once = process.argv.includes("--once")
  if (once) {
    let delivered = 0
    for (;;) {
      const pass = await runOutboxPass()
      delivered += pass.sent
      if (pass.claimed === 0) break
    }
    console.log(`Outbox: ${delivered} message(s) delivered`)
    return
  }
  console.log(`Outbox worker started on the ${describeEngine(engine)}, polling every ${serverConfig.outbox.pollMs} ms`)
  const worker = startOutboxWorker({ keepProcessAlive: true })
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`${signal}: the outbox worker stops after the pass in progress`)
      void worker.stop().then(resolve)
    }
    process.once("SIGTERM", stop)
    process.once("SIGINT", stop)
  })
}

async function close() {
  await db.$disconnect()
  if (engine.kind === "pglite") await closeEmbedded(engine.dataDir)
}

if (process.argv[1]?.endsWith("workerCommand.ts")) {
  main()
    .catch((error: unknown) => {
      console.error(`Outbox worker stopped: ${error instanceof Error ? error.message : error}`)
      process.exitCode = 1
    })
    .finally(() => close().finally(() => process.exit()))
}

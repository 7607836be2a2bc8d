/**
 * `tsx test/bench/auditAppend.ts [--writers 50] [--seconds 10] [--mode group|transaction|statement|ceiling]`:
 * audit append throughput on PostgreSQL. A scratch database (migrated), `writers` concurrent loops
 * each appending events for `seconds` (AppendMode below says how); then everything pending is
 * sealed and the whole chain verified. The seal lag is the time from an event's insert to its
 * seal (sealedAt - recordedAt, both from the database clock), p99 over the run.
 * The app's database client is one per process: when this process has already loaded it (for
 * another database), the bench runs in a child process of its own.
 */
import { execFile } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { performance } from "node:perf_hooks"

export type AuditAppendResult = {
  events: number
  seconds: number
  eventsPerSecond: number
  verified: boolean
  sealLagP99Ms: number | null
  /** The verifier's words when the chain does not verify. */
  problem: string | null
  writers: number
  mode: AppendMode
  poolSize: number
  /** This process's CPU while the writers ran (100: one core busy; the sealer runs here too). */
  nodeCpuPercent: number
}

/**
 * How each writer appends, over and over:
 * - "group": `appendAuditEvent`, as the app records an event that commits on its own (a refusal,
 *   a sign-out): concurrent appends share an INSERT (group commit);
 * - "transaction": `recordAuditEvent` in an interactive transaction of its own (BEGIN, INSERT,
 *   COMMIT), as the app records an event with the change it describes;
 * - "statement": `recordAuditEvent` outside any transaction: one INSERT per event;
 * - "ceiling": no audit at all: an interactive transaction that inserts one row into a table with
 *   one index, through the app's database client; what "transaction" could reach at best.
 */
export type AppendMode = "group" | "transaction" | "statement" | "ceiling"
export const APPEND_MODES: readonly AppendMode[] = ["group", "transaction", "statement", "ceiling"]

export async function benchAuditAppend({
  writers = 50,
  seconds = 10,
  mode = "group",
}: { writers?: number; seconds?: number; mode?: AppendMode } = {}): Promise<AuditAppendResult> {
  if ((globalThis as { __prisma?: unknown }).__prisma) return inChildProcess(writers, seconds, mode)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-audit-append-"))
  // Before any app module loads: db/index.ts and serverConfig read these once.
  process.env.AUDIT_CHECKPOINT_FILE = path.join(tmp, "audit-checkpoints.jsonl")
  process.env.AUDIT_HMAC_KEY ??= "bench-audit-key-that-is-long-enough-0123456789"
  process.env.LOG_LEVEL ??= "warn"
  // One connection per writer: with fewer, only that many write at once and the rest queue
  // for a connection (measured: 10 connections 455/s, 20 621/s, 50 1,017/s).
  process.env.DATABASE_POOL_SIZE ??= String(writers)
  const { createScratchDatabase } = await import("test/helpers/postgres")
  const { migratePostgres } = await import("db/migrate")
  const { poolSizeFromEnv } = await import("db/engine")
  const scratch = await createScratchDatabase("auditappend_bench")
  try {
    await migratePostgres(scratch.url)
    process.env.DATABASE_URL = scratch.url
    const { default: db } = await import("db")
    const { appendAuditEvent, recordAuditEvent } = await import("app/audit/log")
    const { verifyAuditChain } = await import("app/audit/chain")
    const sealer = await import("app/audit/sealer").catch(() => null)
    try {
      if (mode === "ceiling") {
        await db.$executeRaw`CREATE TABLE "BenchCeiling" ("id" serial PRIMARY KEY, "writer" integer NOT NULL, "details" jsonb NOT NULL)`
      }
      const deadline = performance.now() + seconds * 1000
      let events = 0
      let failed = 0
      let firstFailure: string | null = null
      const cpuAtStart = process.cpuUsage()
      const started = performance.now()
      await Promise.all(
        Array.from({ length: writers }, async (_, writer) => {
          for (let n = 0; performance.now() < deadline; n++) {
            const entry = {
              action: "SIGNED_IN" as const,
              actorId: null,
              subjectId: writer + 1,
              impersonationId: null,
              organizationId: null,
              details: { writer, n },
            }
            try {
              if (mode === "group") await appendAuditEvent(entry)
              else if (mode === "statement") await recordAuditEvent(db, entry)
              else if (mode === "ceiling") {
                await db.$transaction(
                  (tx) => tx.$executeRaw`INSERT INTO "BenchCeiling" ("writer", "details") VALUES (${writer}, ${JSON.stringify(entry.details)}::jsonb)`,
                  { maxWait: 60_000 },
                )
              } else await db.$transaction(
                (tx) => recordAuditEvent(tx, entry),
                // 50 writers queue for the pool's connections: measured, not failed (the
                // default 2 s wait fails some on a loaded machine, and a transaction Prisma
                // begins after giving up on it is never released, so $disconnect hangs).
                { maxWait: 60_000 },
              )
              events++
            } catch (error) {
              failed++
              firstFailure ??= error instanceof Error ? error.message.split("\n")[0]! : String(error)
            }
          }
        }),
      )
      const elapsed = (performance.now() - started) / 1000
      const cpu = process.cpuUsage(cpuAtStart)
      const nodeCpuPercent = Math.round((cpu.user + cpu.system) / 1e4 / elapsed)
      let sealLagP99Ms: number | null = 0
      if (sealer) {
        await sealer.sealPendingAuditEvents()
        const [lag] = await db.$queryRaw<Array<{ p99: number | null }>>`
          SELECT percentile_cont(0.99) WITHIN GROUP (
            ORDER BY extract(epoch FROM "sealedAt" - "recordedAt") * 1000) AS "p99"
          FROM "AuditEvent"`
        sealLagP99Ms = lag?.p99 == null ? null : Math.round(Number(lag.p99) * 10) / 10
      }
      const verdict = await verifyAuditChain({ checkpointFile: null })
      const inChain = mode === "ceiling" ? 0 : events // the ceiling writes no audit event
      return {
        events,
        seconds: Math.round(elapsed * 100) / 100,
        eventsPerSecond: Math.round(events / elapsed),
        verified: verdict.ok && verdict.events === inChain && failed === 0,
        sealLagP99Ms,
        problem: !verdict.ok
          ? verdict.problem
          : verdict.events !== inChain
            ? `${verdict.events} events in the chain, ${inChain} written`
            : failed > 0
              ? `${failed} appends failed: ${firstFailure}`
              : null,
        writers,
        mode,
        poolSize: poolSizeFromEnv(),
        nodeCpuPercent,
      }
    } finally {
      await sealer?.stopAuditSealing()
      await db.$disconnect()
    }
  } finally {
    await scratch.drop()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

function inChildProcess(writers: number, seconds: number, mode: AppendMode): Promise<AuditAppendResult> {
  const env = { ...process.env }
  delete env.DATABASE_URL // the child makes its own scratch database
  const args = ["tsx", __filename, "--writers", String(writers), "--seconds", String(seconds), "--mode", mode]
  return new Promise((resolve, reject) => {
    execFile("npx", args, { env, timeout: (seconds + 180) * 1000 }, (error, stdout, stderr) => {
      const last = stdout.trim().split("\n").findLast((line) => line.startsWith('{"events"'))
      if (last) resolve(JSON.parse(last) as AuditAppendResult)
      else reject(new Error(`benchAuditAppend child failed: ${error?.message ?? ""} ${stderr.slice(-500)}`))
    })
  })
}

function numberArg(name: string): number | undefined {
  const at = process.argv.indexOf(`--${name}`)
  if (at < 0) return undefined
  const value = Number(process.argv[at + 1])
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number >= 1`)
  return value
}

if (process.argv[1]?.endsWith("auditAppend.ts")) {
  const at = process.argv.indexOf("--mode")
  const mode = (at < 0 ? "group" : process.argv[at + 1]) as AppendMode
  if (!APPEND_MODES.includes(mode)) {
    console.error(`--mode must be one of ${APPEND_MODES.join(", ")}`)
    process.exit(2)
  }
  benchAuditAppend({ writers: numberArg("writers"), seconds: numberArg("seconds"), mode })
    .then((result) => {
      console.log(JSON.stringify(result))
      process.exitCode = result.verified ? 0 : 1
    })
    .catch((error: unknown) => {
      console.error(error)
      process.exitCode = 2
    })
}

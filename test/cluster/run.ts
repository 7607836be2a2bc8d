import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { CheckList, ROOT, runCommand, signIn as signInOverHttp, startAppServer, waitUntilUp, type AppServer } from "test/helpers/httpApp"
import { createScratchDatabase, POSTGRES_ADMIN_URL } from "test/helpers/postgres"

/**
 * `npm run cluster` (issue 9, item 4): three app instances (`npm start`, ports 3600-3602 or
 * CLUSTER_BASE_PORT) over one scratch PostgreSQL database on TEST_POSTGRES_URL, driven over
 * real HTTP with cookies and the anti-CSRF header. It builds first when there is no build
 * (`.next/BUILD_ID`), prints each check and `N passed, N failed`, and exits 1 on a failure.
 */

const BASE_PORT = Number(process.env.CLUSTER_BASE_PORT ?? 3600)
const TTL_SECONDS = 5 // the smallest time limit the app accepts
const WRITERS_PER_INSTANCE = Number(process.env.CLUSTER_WRITERS ?? 4)
const CYCLES_PER_WRITER = Number(process.env.CLUSTER_CYCLES ?? 5)
const PASSWORD = "cluster-password-1"

const list = new CheckList()
const check = (name: string, ok: boolean, detail = "") => list.check(name, ok, detail)
const run = runCommand

type Me = { id: number; impersonator: { id: number } | null } | null

const signIn = (origin: string, email: string) => signInOverHttp(origin, email, PASSWORD)

async function main() {
  const started = Date.now()
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    console.log("No build in .next: running `npm run build` first (a few minutes)")
    const build = await run("npm", ["run", "build"], { ...process.env, NEXT_TELEMETRY_DISABLED: "1" })
    if (build.code !== 0) throw new Error(`the build failed:\n${build.out.slice(-3000)}`)
  }

  let database: Awaited<ReturnType<typeof createScratchDatabase>>
  try {
    database = await createScratchDatabase("cluster")
  } catch (error) {
    throw new Error(`cannot create a scratch database on ${POSTGRES_ADMIN_URL} (set TEST_POSTGRES_URL): ${String(error)}`)
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-"))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.url,
    SESSION_SECRET_KEY: "cluster-session-secret-that-is-long-enough-0123456789",
    AUDIT_HMAC_KEY: "cluster-audit-hmac-key-that-is-long-enough-0123456789",
    AUDIT_CHECKPOINT_FILE: path.join(scratch, "audit-checkpoints.jsonl"),
    IMPERSONATION_TTL_SECONDS: String(TTL_SECONDS),
    NEXT_TELEMETRY_DISABLED: "1",
    DEMO_MODE: "",
  }
  const instances: (AppServer & { name: string })[] = []
  try {
    // Migrations from all three at once: one applies them, the others find them applied.
    const migrations = await Promise.all([0, 1, 2].map(() => run("npx", ["tsx", "db/migrate.ts"], env)))
    const appliedBy = migrations.filter((m) => /\b[1-9]\d* migration\(s\) applied/.test(m.out))
    const upToDate = migrations.filter((m) => /already up to date/.test(m.out))
    check(
      "migrations run from three instances at once: exactly one applies them",
      migrations.every((m) => m.code === 0) && appliedBy.length === 1 && upToDate.length === 2,
      migrations.map((m, i) => `#${i + 1}: ${m.out.trim().split("\n").pop()}`).join(" | "),
    )

    // The people, written straight to the shared database (no demo accounts).
    process.env.DATABASE_URL = database.url
    process.env.AUDIT_HMAC_KEY = env.AUDIT_HMAC_KEY
    process.env.AUDIT_CHECKPOINT_FILE = env.AUDIT_CHECKPOINT_FILE
    process.env.IMPERSONATION_TTL_SECONDS = env.IMPERSONATION_TTL_SECONDS
    const { default: db } = await import("db")
    const { SecurePassword } = await import("@blitzjs/auth/secure-password")
    const { sealPendingAuditEvents } = await import("app/audit/sealer")
    const hashedPassword = await SecurePassword.hash(PASSWORD)
    const person = (label: string, role: "USER" | "SUPPORT") =>
      db.user.create({ data: { email: `${label}@cluster.example`, name: `Cluster ${label}`, hashedPassword, role } })
    const admin = await person("admin", "SUPPORT")
    const user = await person("user", "USER")
    const writers = await Promise.all(
      Array.from({ length: 3 * WRITERS_PER_INSTANCE }, (_, i) => person(`writer-${i}`, "SUPPORT")),
    )
    const writerSubjects = await Promise.all(writers.map((_, i) => person(`writer-subject-${i}`, "USER")))

    for (const [i, name] of ["A", "B", "C"].entries()) {
      // `npm start` (tsx server.ts) in its own process group, stopped by its process id alone.
      instances.push({ name, ...startAppServer(BASE_PORT + i, env) })
    }
    await Promise.all(instances.map((it) => waitUntilUp(it.origin, it.child, it.log)))
    const [A, B, C] = instances.map((it) => it.origin) as [string, string, string]
    console.log(`Three instances up: ${instances.map((it) => `${it.name} ${it.origin}`).join(", ")} (${((Date.now() - started) / 1000).toFixed(0)} s so far)`)

    // 1. Started on A, seen on B.
    const onA = await signIn(A, admin.email)
    const start = await onA.rpc<{ impersonationId: number }>("impersonateUser", { userId: user.id, reason: "Ticket 9: cluster" })
    const onB = onA.on(B)
    const seen = await onB.rpc<Me>("getCurrentUser")
    check(
      "an impersonation started on A is seen on B",
      !start.error && seen.result?.id === user.id && seen.result?.impersonator?.id === admin.id,
      `B sees user #${seen.result?.id} impersonated by #${seen.result?.impersonator?.id ?? "nobody"}`,
    )

    // 2. End access pressed on C, by the user's own session, ends it at A's next request.
    const own = await signIn(C, user.email)
    const ended = await own.rpc<{ endedIds: number[] }>("endAccessByUser", { id: start.result?.impersonationId })
    const backOnA = await onA.rpc<Me>("getCurrentUser")
    const row1 = await db.impersonation.findUnique({ where: { id: start.result?.impersonationId ?? -1 } })
    check(
      "End access pressed on C ends it at the next request on A",
      !ended.error && backOnA.result?.id === admin.id && backOnA.result?.impersonator === null && row1?.endReason === "ENDED_BY_USER",
      `A now shows #${backOnA.result?.id} (impersonator ${backOnA.result?.impersonator?.id ?? "none"}), ended as ${row1?.endReason}`,
    )

    // 3. A stop on B returns to the admin on A.
    const second = await onA.rpc<{ impersonationId: number }>("impersonateUser", { userId: user.id, reason: "Ticket 9: cluster stop" })
    const stopped = await onA.on(B).rpc<{ status: string }>("stopImpersonating", {})
    const afterStop = await onA.rpc<Me>("getCurrentUser")
    const row2 = await db.impersonation.findUnique({ where: { id: second.result?.impersonationId ?? -1 } })
    check(
      "a stop on B returns to the admin on A",
      !second.error && stopped.result?.status === "RESTORED" && afterStop.result?.id === admin.id && afterStop.result?.impersonator === null && row2?.endReason === "STOPPED",
      `stop: ${stopped.result?.status ?? stopped.error?.message}; A shows #${afterStop.result?.id}, ended as ${row2?.endReason}`,
    )

    // 4. Expiry with no instance told: started on A, noticed by C's next request after the limit.
    const third = await onA.rpc<{ impersonationId: number }>("impersonateUser", { userId: user.id, reason: "Ticket 9: cluster expiry" })
    await new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1000 + 500))
    const afterExpiry = await onA.on(C).rpc<Me>("getCurrentUser")
    const row3 = await db.impersonation.findUnique({ where: { id: third.result?.impersonationId ?? -1 } })
    check(
      `expiry works with no instance told (IMPERSONATION_TTL_SECONDS=${TTL_SECONDS} on all three)`,
      !third.error && afterExpiry.result?.id === admin.id && afterExpiry.result?.impersonator === null &&
        row3?.endReason === "EXPIRED" && row3.endedAt?.getTime() === row3.expiresAt.getTime(),
      `C shows #${afterExpiry.result?.id} after ${TTL_SECONDS} s, ended as ${row3?.endReason} at its limit`,
    )

    // 5. Concurrent writes from all three: start/stop cycles by several admins on every instance.
    const writeStart = Date.now()
    const origins = [A, B, C]
    const failures: string[] = []
    await Promise.all(
      writers.map(async (writer, i) => {
        const browser = await signIn(origins[i % 3]!, writer.email)
        for (let n = 0; n < CYCLES_PER_WRITER; n++) {
          const startOn = browser.on(origins[(i + n) % 3]!)
          const s = await startOn.rpc("impersonateUser", { userId: writerSubjects[i]!.id, reason: `Ticket 9: writer ${i}` })
          if (s.error) failures.push(`start: ${s.error.message}`)
          const t = await browser.on(origins[(i + n + 1) % 3]!).rpc("stopImpersonating", {})
          if (t.error) failures.push(`stop: ${t.error.message}`)
        }
      }),
    )
    const writeSeconds = (Date.now() - writeStart) / 1000
    const cycles = writers.length * CYCLES_PER_WRITER
    // Each instance seals right after its commits; what is still pending is sealed here.
    await sealPendingAuditEvents()
    const unsealed = await db.auditEvent.count({ where: { chainPosition: null } })
    const forks = await db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM (SELECT "prevHash" FROM "AuditEvent" WHERE "chainPosition" IS NOT NULL
        GROUP BY "prevHash" HAVING count(*) > 1) t`
    const orphans = await db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM "AuditEvent" e WHERE e."prevHash" IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM "AuditEvent" p WHERE p."hash" = e."prevHash")`
    const heads = await db.auditEvent.count({ where: { prevHash: null, chainPosition: { not: null } } })
    const events = await db.auditEvent.count()
    check(
      `${cycles} start/stop cycles by ${writers.length} admins over A, B and C at once all succeed`,
      failures.length === 0,
      `${(cycles * 2 / writeSeconds).toFixed(1)} requests/s, ${failures.length} failed${failures.length ? `: ${failures.slice(0, 3).join("; ")}` : ""}`,
    )
    check(
      "the audit chain stays linear under writes from all three (one head, no fork, no orphan)",
      Number(forks[0]!.n) === 0 && Number(orphans[0]!.n) === 0 && heads === 1 && unsealed === 0,
      `${events} events, ${heads} head(s), ${forks[0]!.n} forked link(s), ${orphans[0]!.n} orphan link(s), ${unsealed} unsealed`,
    )
    const live = await db.impersonation.count({ where: { endedAt: null } })
    const startedEvents = await db.auditEvent.count({ where: { action: "IMPERSONATION_STARTED" } })
    const endedEvents = await db.auditEvent.count({ where: { action: "IMPERSONATION_ENDED" } })
    const rows = await db.impersonation.count()
    check(
      "every impersonation started once and ended once on record",
      live === 0 && startedEvents === rows && endedEvents === rows,
      `${rows} impersonations, ${startedEvents} started and ${endedEvents} ended events, ${live} live`,
    )
    await db.$disconnect()

    const verify = await run("npx", ["tsx", "app/audit/verifyCommand.ts"], env)
    check("npm run audit:verify passes on the shared database", verify.code === 0, verify.out.trim().split("\n").pop() ?? "")
  } finally {
    for (const it of instances) {
      if (it.child.exitCode === null && it.child.pid) process.kill(-it.child.pid, "SIGTERM")
    }
    await Promise.all(
      instances.map((it) => (it.child.exitCode !== null ? null : new Promise((resolve) => it.child.once("exit", resolve)))),
    )
    await database.drop()
    fs.rmSync(scratch, { recursive: true, force: true })
  }
  const failed = list.failed
  console.log(`\n${list.summary()} (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  process.exitCode = failed ? 1 : 0
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  console.log(`\n${list.summary(1)}`)
  process.exitCode = 1
})

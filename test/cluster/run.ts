import { spawn, type ChildProcess } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import superjson from "superjson"
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
const ROOT = process.cwd()
const PASSWORD = "cluster-password-1"
const COOKIE_PREFIX = "safe_imp"

type Check = { name: string; ok: boolean; detail: string }
const checks: Check[] = []
function check(name: string, ok: boolean, detail = "") {
  checks.push({ name, ok, detail })
  console.log(`${ok ? "PASS" : "FAIL"}  ${name}${detail ? `: ${detail}` : ""}`)
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    child.on("close", (code) => resolve({ code: code ?? 1, out }))
  })
}

/** A browser without a browser, over HTTP: a cookie jar, the anti-CSRF header, superjson bodies. */
class HttpBrowser {
  cookies = new Map<string, string>()
  constructor(public origin: string) {}

  /** The same cookies sent to another instance. */
  on(origin: string): HttpBrowser {
    const other = new HttpBrowser(origin)
    other.cookies = this.cookies
    return other
  }

  async rpc<T = unknown>(name: string, params: unknown = null): Promise<{ status: number; result: T | null; error: { code?: string; message: string } | null }> {
    const { json, meta } = superjson.serialize(params)
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    const csrf = this.cookies.get(`${COOKIE_PREFIX}_sAntiCsrfToken`)
    if (csrf) headers["anti-csrf"] = csrf
    const response = await fetch(`${this.origin}/api/rpc/${name}`, {
      method: "POST",
      headers,
      body: JSON.stringify({ params: json, meta: { params: meta } }),
    })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = cookie.split(";")
      const eq = pair.indexOf("=")
      const key = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expires = attributes.find((a) => a.trim().toLowerCase().startsWith("expires="))
      if (!value || (expires && new Date(expires.split("=")[1]!).getTime() < Date.now())) this.cookies.delete(key)
      else this.cookies.set(key, value)
    }
    const text = await response.text()
    let payload: { result?: unknown; error?: { code?: string; message: string } | null; meta?: { result?: unknown } }
    try {
      payload = JSON.parse(text) as typeof payload
    } catch {
      return { status: response.status, result: null, error: { message: `not JSON (HTTP ${response.status}): ${text.slice(0, 120)}` } }
    }
    const result =
      payload.result == null ? null : (superjson.deserialize({ json: payload.result as never, meta: payload.meta?.result as never }) as T)
    return { status: response.status, result, error: payload.error ?? null }
  }
}

type Me = { id: number; impersonator: { id: number } | null } | null

async function signIn(origin: string, email: string) {
  const browser = new HttpBrowser(origin)
  const res = await browser.rpc("login", { email, password: PASSWORD })
  if (res.error) throw new Error(`sign-in as ${email} on ${origin} failed: ${res.error.message}`)
  return browser
}

async function waitUntilUp(origin: string, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the instance on ${origin} exited:\n${log().slice(-2000)}`)
    try {
      const res = await fetch(`${origin}/login`)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`the instance on ${origin} did not answer within 120 s:\n${log().slice(-2000)}`)
}

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
  const instances: { name: string; origin: string; child: ChildProcess; log: string }[] = []
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
      const port = BASE_PORT + i
      // `npm start` is `tsx server.ts`; started directly, in its own process group, so that the
      // instance (tsx and its node child) can be stopped by this process id alone.
      const child = spawn(path.join(ROOT, "node_modules", ".bin", "tsx"), ["server.ts"], {
        cwd: ROOT,
        env: { ...env, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      })
      const instance = { name, origin: `http://localhost:${port}`, child, log: "" }
      child.stdout!.on("data", (d: Buffer) => (instance.log += d.toString()))
      child.stderr!.on("data", (d: Buffer) => (instance.log += d.toString()))
      instances.push(instance)
    }
    await Promise.all(instances.map((it) => waitUntilUp(it.origin, it.child, () => it.log)))
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
    const forks = await db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM (SELECT "prevHash" FROM "AuditEvent" GROUP BY "prevHash" HAVING count(*) > 1) t`
    const orphans = await db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM "AuditEvent" e WHERE e."prevHash" IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM "AuditEvent" p WHERE p."hash" = e."prevHash")`
    const heads = await db.auditEvent.count({ where: { prevHash: null } })
    const events = await db.auditEvent.count()
    check(
      `${cycles} start/stop cycles by ${writers.length} admins over A, B and C at once all succeed`,
      failures.length === 0,
      `${(cycles * 2 / writeSeconds).toFixed(1)} requests/s, ${failures.length} failed${failures.length ? `: ${failures.slice(0, 3).join("; ")}` : ""}`,
    )
    check(
      "the audit chain stays linear under writes from all three (one head, no fork, no orphan)",
      Number(forks[0]!.n) === 0 && Number(orphans[0]!.n) === 0 && heads === 1,
      `${events} events, ${heads} head(s), ${forks[0]!.n} forked link(s), ${orphans[0]!.n} orphan link(s)`,
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
  const failed = checks.filter((c) => !c.ok).length
  console.log(`\n${checks.length - failed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  process.exitCode = failed ? 1 : 0
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  const failed = checks.filter((c) => !c.ok).length
  console.log(`\n${checks.length - failed} passed, ${failed + 1} failed`)
  process.exitCode = 1
})

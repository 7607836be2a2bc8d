/**
 * `npm run bench [-- --no-peer --engine=pglite|postgres --seconds=N --quick --sql]` (issue 9, item 5):
 * load and cost of reading the session and of starting and stopping an impersonation, on the
 * embedded engine (PGlite, a temp data folder) and on PostgreSQL (a scratch database, when
 * reachable), beside a small Better Auth 1.7.25 server with its admin plugin (PostgreSQL only).
 *
 * - Our server is the production build (`node --import tsx server.ts`, built first when `.next`
 *   has none), one process whose CPU time (/proc/<pid>/stat) is divided by the requests served;
 *   on PostgreSQL the CPU time of the database's backends (pg_stat_activity) is shown apart.
 * - getCurrentUser is sent as a Blitz page sends it: POST /api/rpc/getCurrentUser with the
 *   session cookies and the anti-CSRF header (Blitz queries default to POST), by autocannon.
 *   Ordinary and impersonated sessions run in 10 alternating windows of 3 s per side (A B, B A, ...);
 *   their ratio is the median of the pairs' ratios (two shared cores are noisy).
 * - Start/stop cycles: one loop per admin (each with their own subject), impersonateUser then
 *   stopImpersonating, with the cookie jar and anti-CSRF header a browser has.
 * - SQL statements per operation are counted by the engine's side: on PostgreSQL by a proxy on
 *   the wire (Query and Execute messages, test/bench/wireCounter.ts) over a batch of N
 *   sequential operations, minus what the server sends while idle over the same time; on both
 *   engines from the app's `X-Sql-Statements` header (SQL_STATEMENT_HEADER=true), which counts
 *   at the Prisma driver adapter. The outbox worker is off (OUTBOX_WORKER=false): the rows a
 *   start queues are counted, their delivery (a worker's job) is not. Audit checkpoints (a
 *   background walk of the chain, 3 statements per 100 events) are off too.
 * `--sql` also prints the SQL of one operation per scenario as the wire proxy saw it, and of the
 * first operation whose wire count differs from its header.
 * Prints a table per engine, the ratios, the machine, and the targets as PASS/FAIL lines, then
 * `N passed, N failed`; exits 1 on a failure.
 */
import { spawn } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { parseArgs } from "node:util"
import { Client } from "pg"
import {
  type AppServer,
  CheckList,
  COOKIE_PREFIX,
  HttpBrowser,
  ROOT,
  runCommand,
  signIn,
  sleep,
  startAppServer,
  waitUntilUp,
} from "test/helpers/httpApp"
import { createScratchDatabase, POSTGRES_ADMIN_URL } from "test/helpers/postgres"
import { BENCH_PASSWORD, type BenchAccounts } from "./accounts"
import {
  type BenchSettings,
  type Cycler,
  type HttpLoad,
  measure,
  median,
  meterFor,
  percentile,
  type Scenario,
  type ServerResult,
  sqlHeader,
} from "./measure"
import { benchAuditAppend, type AppendMode, type AuditAppendResult } from "./auditAppend"
import { startCountingProxy, type CountingProxy } from "./wireCounter"

// ---------------------------------------------------------------- options

function parseOptions() {
  const { values } = parseArgs({
    options: {
      "no-peer": { type: "boolean", default: false },
      engine: { type: "string" },
      seconds: { type: "string" },
      quick: { type: "boolean", default: false },
      sql: { type: "boolean", default: false },
    },
  })
  if (values.engine !== undefined && values.engine !== "pglite" && values.engine !== "postgres") {
    throw new Error(`--engine must be pglite or postgres (got "${values.engine}")`)
  }
  const seconds = Number(values.seconds ?? (values.quick ? 2 : 10))
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 120) throw new Error("--seconds must be a number from 1 to 120")
  return { ...values, engine: values.engine as "pglite" | "postgres" | undefined, seconds }
}

const args = (() => {
  try {
    return parseOptions()
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}
usage: npm run bench -- [--no-peer] [--engine=pglite|postgres] [--seconds=N] [--quick] [--sql]`)
    process.exit(2)
  }
})()
const SETTINGS: BenchSettings = {
  seconds: args.seconds,
  quick: args.quick,
  // Many windows of a few seconds: single 2-second windows of one side varied by +-30% on this
  // two-core machine, so a median of 5 pairs passed or failed 0.95 by chance.
  windows: args.quick ? 2 : 10,
  windowSeconds: Math.max(1, Math.round(args.seconds * 0.3)),
  connections: 10,
  countBatch: args.quick ? 10 : 30,
  countCycles: args.quick ? 5 : 15,
  traceSql: args.sql,
}
/** Admins starting and stopping at once, each with their own user. */
const PAIRS = 4
const BASE_PORT = Number(process.env.BENCH_BASE_PORT ?? 4200)
const REASON = "Ticket 9: bench"

// ---------------------------------------------------------------- processes

/** The peer, `node --import tsx test/bench/peer.ts serve`: the spawned process serves. */
function startPeer(env: NodeJS.ProcessEnv): AppServer {
  const child = spawn(process.execPath, ["--import", "tsx", "test/bench/peer.ts", "serve"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
  let log = ""
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-20_000))
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return { origin: `http://127.0.0.1:${env.PEER_PORT}`, child, log: () => log, exited }
}

async function stopServer(server: AppServer) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  server.child.kill("SIGTERM")
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 10_000)
  await server.exited
  clearTimeout(timer)
}

async function waitForUrl(url: string, proc: AppServer) {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`the process for ${url} exited:\n${proc.log().slice(-2000)}`)
    try {
      if ((await fetch(url)).status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(250)
  }
  throw new Error(`${url} did not answer within 120 s:\n${proc.log().slice(-2000)}`)
}

// ---------------------------------------------------------------- ours

function rpcBody(params: unknown = null) {
  return JSON.stringify({ params, meta: {} })
}

/** What a Blitz page sends with an RPC call: its cookies and the anti-CSRF header. */
function ourHeaders(browser: HttpBrowser | null): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json" }
  if (browser?.cookies.size) {
    headers.cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    const csrf = browser.cookies.get(`${COOKIE_PREFIX}_sAntiCsrfToken`)
    if (csrf) headers["anti-csrf"] = csrf
  }
  return headers
}

/** getCurrentUser as a signed-in page asks for it, with this browser's cookies. */
function currentUserLoad(origin: string, browser: HttpBrowser | null, expect: (body: string) => boolean): HttpLoad {
  return { url: `${origin}/api/rpc/getCurrentUser`, method: "POST", headers: ourHeaders(browser), body: rpcBody(), ok: expect }
}

/** One request with a browser's cookies and anti-CSRF header; the answer's cookies are kept. */
async function ourRpc(browser: HttpBrowser | null, origin: string, name: string, params: unknown = null) {
  const response = await fetch(`${origin}/api/rpc/${name}`, { method: "POST", headers: ourHeaders(browser), body: rpcBody(params) })
  if (browser) absorbCookies(browser.cookies, response)
  const text = await response.text()
  return { status: response.status, text, header: sqlHeader(response) }
}

function absorbCookies(jar: Map<string, string>, response: Response) {
  for (const cookie of response.headers.getSetCookie()) {
    const [pair = "", ...attributes] = cookie.split(";")
    const eq = pair.indexOf("=")
    const key = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const attribute = (name: string) => attributes.find((a) => a.trim().toLowerCase().startsWith(`${name}=`))?.split("=")[1]
    const expires = attribute("expires")
    const maxAge = attribute("max-age")
    const gone = (expires && new Date(expires).getTime() < Date.now()) || (maxAge !== undefined && Number(maxAge) <= 0)
    if (!value || gone) jar.delete(key)
    else jar.set(key, value)
  }
}

type Me = { email: string; impersonator: { email: string } | null } | null

async function measureOurs(engine: "pglite" | "postgres", port: number, database: { direct: string; wire: CountingProxy } | null): Promise<ServerResult> {
  const result: ServerResult = { name: "ours", rows: {}, ratios: [], idleStatementsPerSecond: null, sanity: { ok: false, detail: "" }, failureSamples: [] }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${engine}-`))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    SESSION_SECRET_KEY: "bench-session-secret-that-is-long-enough-0123456789",
    AUDIT_HMAC_KEY: "bench-audit-hmac-key-that-is-long-enough-0123456789",
    AUDIT_CHECKPOINT_FILE: path.join(scratch, "audit-checkpoints.jsonl"),
    MAIL_PREVIEW_DIR: path.join(scratch, "mail"),
    OUTBOX_WORKER: "false",
    // Audit checkpoints (a walk of the chain every 100 events, in the background) would land in
    // a counted op now and then: 3 statements per 100 events, left out of the per-op counts.
    AUDIT_CHECKPOINT_EVERY: "1000000000",
    AUDIT_CHECKPOINT_SECONDS: "86400",
    SQL_STATEMENT_HEADER: "true",
    NEXT_TELEMETRY_DISABLED: "1",
    DEMO_MODE: "",
    LOG_LEVEL: "warn",
  }
  if (database) env.DATABASE_URL = database.direct
  else {
    delete env.DATABASE_URL
    env.PGLITE_DATA_DIR = path.join(scratch, "pglite")
  }
  let server: AppServer | null = null
  try {
    const seeded = await runCommand(process.execPath, ["--import", "tsx", "test/bench/seed.ts", String(PAIRS)], env)
    const line = seeded.out.split("\n").find((l) => l.startsWith("{"))
    if (seeded.code !== 0 || !line) throw new Error(`seeding failed:\n${seeded.out.slice(-2000)}`)
    const accounts = JSON.parse(line) as BenchAccounts

    if (database) env.DATABASE_URL = database.wire.urlFor(database.direct)
    // The spawned process is the node process that serves: its pid gives its CPU time.
    server = startAppServer(port, env, { node: true })
    const origin = server.origin
    await waitUntilUp(origin, server.child, server.log)

    const user = await signIn(origin, accounts.user, BENCH_PASSWORD)
    const impersonating = await signIn(origin, accounts.admin, BENCH_PASSWORD)
    const started = await impersonating.rpc("impersonateUser", { email: accounts.user, reason: REASON })
    if (started.error) throw new Error(`the bench's impersonation did not start: ${started.error.message}`)
    const cyclers: Cycler[] = []
    for (const pair of accounts.pairs) {
      const admin = await signIn(origin, pair.admin, BENCH_PASSWORD)
      cyclers.push({
        start: async () => {
          const r = await ourRpc(admin, origin, "impersonateUser", { email: pair.subject, reason: REASON })
          return { ok: r.status === 200 && r.text.includes('"error":null'), header: r.header, detail: r.text.slice(0, 200) }
        },
        stop: async () => {
          const r = await ourRpc(admin, origin, "stopImpersonating", {})
          return { ok: r.status === 200 && r.text.includes('"RESTORED"'), header: r.header, detail: r.text.slice(0, 200) }
        },
      })
    }

    // What each read answers, before any load: the bench must measure what it says it does.
    const me = async (browser: HttpBrowser | null) => {
      const r = browser ? await browser.rpc<Me>("getCurrentUser") : await new HttpBrowser(origin).rpc<Me>("getCurrentUser")
      return r.result
    }
    const [none, ordinary, imp] = [await me(null), await me(user), await me(impersonating)]
    result.sanity = {
      ok: none === null && ordinary?.email === accounts.user && !ordinary.impersonator && imp?.email === accounts.user && imp.impersonator?.email === accounts.admin,
      detail: `no session: ${none === null ? "null" : "a user"}; ordinary: ${ordinary?.email}; impersonated: ${imp?.email} by ${imp?.impersonator?.email ?? "nobody"}`,
    }

    const read = (browser: HttpBrowser | null, expectUser: boolean) => ({
      load: currentUserLoad(origin, browser, (body) => body.includes('"error":null') && body.startsWith(expectUser ? '{"result":{' : '{"result":null')),
      op: async () => {
        const r = await ourRpc(browser, origin, "getCurrentUser")
        return { ok: r.status === 200 && r.text.includes('"error":null'), header: r.header, detail: r.text.slice(0, 200) }
      },
    })
    const meter = await meterFor(server.child.pid!, database?.direct ?? null)
    try {
      await measure(result, meter, database?.wire ?? null, { none: read(null, false), ordinary: read(user, true), impersonated: read(impersonating, true) }, cyclers, SETTINGS)
    } finally {
      await meter.database?.admin.end()
    }
    return result
  } finally {
    if (server) await stopServer(server)
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------- the peer

class PeerBrowser {
  cookies = new Map<string, string>()
  constructor(readonly origin: string) {}
  headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = { origin: this.origin }
    if (json) headers["content-type"] = "application/json"
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    return headers
  }
  async send(pathname: string, body?: unknown) {
    const response = await fetch(`${this.origin}${pathname}`, {
      method: body === undefined ? "GET" : "POST",
      headers: this.headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    absorbCookies(this.cookies, response)
    return { status: response.status, text: await response.text() }
  }
}

async function measurePeer(port: number, databaseUrl: string, wire: CountingProxy): Promise<ServerResult> {
  const result: ServerResult = { name: "peer", rows: {}, ratios: [], idleStatementsPerSecond: null, sanity: { ok: false, detail: "" }, failureSamples: [] }
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production", DATABASE_URL: databaseUrl, PEER_PORT: String(port) }
  const migrated = await runCommand(process.execPath, ["--import", "tsx", "test/bench/peer.ts", "migrate"], env)
  if (migrated.code !== 0) throw new Error(`the peer's migration failed:\n${migrated.out.slice(-2000)}`)
  const server = startPeer({ ...env, DATABASE_URL: wire.urlFor(databaseUrl) })
  const origin = server.origin
  try {
    await waitForUrl(`${origin}/health`, server)
    const admins: string[] = []
    const signUp = async (email: string, role: "admin" | "user") => {
      const browser = new PeerBrowser(origin)
      const r = await browser.send("/api/auth/sign-up/email", { email, password: BENCH_PASSWORD, name: email.split("@")[0] })
      if (r.status !== 200) throw new Error(`the peer's sign-up of ${email} failed: ${r.status} ${r.text.slice(0, 200)}`)
      if (role === "admin") admins.push(email)
      return { browser, id: (JSON.parse(r.text) as { user: { id: string } }).user.id }
    }
    const user = await signUp("user@bench.example", "user")
    const impersonating = (await signUp("admin@bench.example", "admin")).browser
    const pairs = []
    for (let i = 0; i < PAIRS; i++) {
      pairs.push({ admin: (await signUp(`admin-${i}@bench.example`, "admin")).browser, subject: await signUp(`subject-${i}@bench.example`, "user") })
    }
    // The admin plugin's default admin role; set as an operator would, in the database.
    const db = new Client({ connectionString: databaseUrl })
    await db.connect()
    await db.query(`UPDATE "user" SET role = 'admin' WHERE email = ANY($1)`, [admins])
    await db.end()
    const started = await impersonating.send("/api/auth/admin/impersonate-user", { userId: user.id })
    if (started.status !== 200) throw new Error(`the peer's impersonation did not start: ${started.status} ${started.text.slice(0, 200)}`)

    type Got = { user: { email: string }; session: { impersonatedBy?: string | null } } | null
    const got = async (browser: PeerBrowser) => JSON.parse((await browser.send("/api/auth/get-session")).text) as Got
    const [none, ordinary, imp] = [await got(new PeerBrowser(origin)), await got(user.browser), await got(impersonating)]
    result.sanity = {
      ok: none === null && ordinary?.user.email === "user@bench.example" && !ordinary.session.impersonatedBy && imp?.user.email === "user@bench.example" && !!imp.session.impersonatedBy,
      detail: `no session: ${none === null ? "null" : "a user"}; ordinary: ${ordinary?.user.email}; impersonated: ${imp?.user.email} by ${imp?.session.impersonatedBy ? "an admin" : "nobody"}`,
    }
    const read = (browser: PeerBrowser, expectUser: boolean) => ({
      load: {
        url: `${origin}/api/auth/get-session`,
        method: "GET",
        headers: browser.headers(false),
        ok: (body: string) => (expectUser ? body.startsWith('{"session":') : body === "null"),
      },
      op: async () => {
        const r = await browser.send("/api/auth/get-session")
        return { ok: r.status === 200, header: null, detail: r.text.slice(0, 200) }
      },
    })
    const cyclers: Cycler[] = pairs.map(({ admin, subject }) => ({
      start: async () => {
        const r = await admin.send("/api/auth/admin/impersonate-user", { userId: subject.id })
        return { ok: r.status === 200, header: null, detail: `${r.status} ${r.text.slice(0, 200)}` }
      },
      stop: async () => {
        const r = await admin.send("/api/auth/admin/stop-impersonating", {})
        return { ok: r.status === 200, header: null, detail: `${r.status} ${r.text.slice(0, 200)}` }
      },
    }))
    const meter = await meterFor(server.child.pid!, databaseUrl)
    try {
      await measure(result, meter, wire, { none: read(new PeerBrowser(origin), false), ordinary: read(user.browser, true), impersonated: read(impersonating, true) }, cyclers, SETTINGS)
    } finally {
      await meter.database?.admin.end()
    }
    return result
  } finally {
    await stopServer(server)
  }
}

// ---------------------------------------------------------------- report

/** test/bench/auditAppend.ts in one mode (see its AppendMode): the figure, or why there is none. */
async function auditAppend(seconds: number, mode: AppendMode): Promise<AuditAppendResult | string> {
  try {
    return await benchAuditAppend({ writers: 50, seconds, mode })
  } catch (error) {
    return `failed: ${error instanceof Error ? error.message : String(error)}`
  }
}

/** What the three audit runs say, one line each. */
const APPEND_LINES: Record<Exclude<AppendMode, "statement">, string> = {
  group: "appendAuditEvent: events that commit on their own (group commit; the target)",
  transaction: "recordAuditEvent, each event in an interactive transaction of its own",
  ceiling: "ceiling: an interactive transaction inserting one plain row, no audit",
}

const fmt = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? "n/a" : value.toFixed(digits)

const LABELS: Record<Scenario, [string, string]> = {
  none: ["getCurrentUser, no session", "get-session, no session"],
  ordinary: ["getCurrentUser, ordinary", "get-session, ordinary"],
  impersonated: ["getCurrentUser, impersonated", "get-session, impersonated"],
  cycle: ["start+stop cycle", "impersonate+stop cycle"],
  start: ["  impersonateUser", "  impersonate-user"],
  stop: ["  stopImpersonating", "  stop-impersonating"],
}

function printTable(engine: string, servers: ServerResult[]) {
  const head = ["scenario", "server", "ops/s", "p50 ms", "p99 ms", "CPU ms/op", "DB CPU ms/op", "SQL/op header", "SQL/op wire", "sealer SQL/op"]
  const lines: string[][] = [head]
  for (const scenario of Object.keys(LABELS) as Scenario[]) {
    for (const server of servers) {
      const row = server.rows[scenario]
      if (!row) continue
      const load = row.load
      const sorted = load ? [...load.latencies].sort((a, b) => a - b) : []
      const perOp = scenario === "start" || scenario === "stop"
      lines.push([
        LABELS[scenario][server.name === "peer" ? 1 : 0],
        server.name,
        load ? fmt(load.ops / load.seconds, 0) : "n/a",
        sorted.length ? fmt(percentile(sorted, 0.5), 1) : "",
        sorted.length ? fmt(percentile(sorted, 0.99), 1) : "",
        load && !perOp ? fmt(load.cpuMs / load.ops, 2) : "",
        load && !perOp ? fmt(load.dbCpuMs === null ? null : load.dbCpuMs / load.ops, 2) : "",
        fmt(row.sql.header, 2),
        fmt(row.sql.wire, 2),
        fmt(row.sql.sealer, 2),
      ])
    }
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)))
  console.log(`\n${engine}`)
  for (const [n, line] of lines.entries()) {
    console.log(line.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "))
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "))
  }
}

async function postgresVersion(): Promise<string | null> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version")
    return rows[0]?.server_version ?? null
  } catch {
    return null
  } finally {
    await client.end().catch(() => undefined)
  }
}

function machine(pgVersion: string | null): string {
  const cpus = os.cpus()
  const pglite = (JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@electric-sql/pglite/package.json"), "utf8")) as { version: string }).version
  return [
    `CPU: ${cpus[0]?.model ?? "unknown"}, ${cpus.length} cores; RAM ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
    `Node ${process.version}; PostgreSQL ${pgVersion ?? "not reachable"}; PGlite ${pglite}; ${os.type()} ${os.release()}`,
    `Load: ${SETTINGS.connections} connections per read scenario (autocannon), ${PAIRS} admins cycling at once; ${SETTINGS.seconds} s per scenario${SETTINGS.quick ? " (--quick)" : ""}, ordinary/impersonated in ${SETTINGS.windows} alternating windows of ${SETTINGS.windowSeconds} s per side; statements over ${SETTINGS.countBatch} sequential reads and ${SETTINGS.countCycles} sequential cycles`,
  ].join("\n")
}

// ---------------------------------------------------------------- main

async function main() {
  const started = Date.now()
  const checks = new CheckList()
  const pgVersion = await postgresVersion()
  const engines = args.engine ? [args.engine] : (["pglite", "postgres"] as const)
  console.log(`npm run bench: ${engines.join(" and ")}${args["no-peer"] ? ", no peer" : ", peer: PostgreSQL only"}\n${machine(pgVersion)}\n`)
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    console.log("No build in .next: running `npx next build --webpack` once (a few minutes)")
    const build = await runCommand("npx", ["next", "build", "--webpack"], { ...process.env, NEXT_TELEMETRY_DISABLED: "1" })
    if (build.code !== 0) throw new Error(`the build failed:\n${build.out.slice(-3000)}`)
  }

  const results: { engine: "pglite" | "postgres"; servers: ServerResult[] }[] = []
  const appends: Record<keyof typeof APPEND_LINES, AuditAppendResult | string> = {
    group: "PostgreSQL not reachable",
    transaction: "PostgreSQL not reachable",
    ceiling: "PostgreSQL not reachable",
  }
  for (const engine of engines) {
    if (engine === "pglite") {
      console.log("Embedded PostgreSQL (PGlite, a temp data folder):")
      results.push({ engine, servers: [await measureOurs("pglite", BASE_PORT, null)] })
      continue
    }
    if (!pgVersion) {
      if (args.engine === "postgres") throw new Error(`PostgreSQL is not reachable on ${POSTGRES_ADMIN_URL} (set TEST_POSTGRES_URL)`)
      console.log(`PostgreSQL is not reachable on ${POSTGRES_ADMIN_URL}: its part is skipped`)
      continue
    }
    console.log("PostgreSQL (scratch databases, statements counted on the wire):")
    const target = new URL(POSTGRES_ADMIN_URL)
    const upstream = { host: target.hostname, port: Number(target.port || 5432) }
    const servers: ServerResult[] = []
    const oursDb = await createScratchDatabase("bench_ours")
    const oursWire = await startCountingProxy(upstream, BASE_PORT + 20)
    try {
      servers.push(await measureOurs("postgres", BASE_PORT + 1, { direct: oursDb.url, wire: oursWire }))
    } finally {
      await oursWire.close()
      await oursDb.drop()
    }
    if (!args["no-peer"]) {
      const peerDb = await createScratchDatabase("bench_peer")
      const peerWire = await startCountingProxy(upstream, BASE_PORT + 21)
      try {
        servers.push(await measurePeer(BASE_PORT + 10, peerDb.url, peerWire))
      } finally {
        await peerWire.close()
        await peerDb.drop()
      }
    }
    results.push({ engine, servers })
    for (const mode of ["group", "transaction", "ceiling"] as const) {
      console.log(`  audit append: 50 writers, ${mode}`)
      appends[mode] = await auditAppend(SETTINGS.seconds, mode)
    }
  }

  console.log(
    [
      "\nops/s: answers per second (for cycles: start+stop pairs per second). CPU ms/op: the serving process",
      "(PGlite runs inside it); DB CPU ms/op: PostgreSQL's backends for that server's database. SQL/op: statements",
      "per operation, from the X-Sql-Statements header (ours) and counted on the wire (PostgreSQL).",
    ].join("\n"),
  )
  for (const { engine, servers } of results) {
    printTable(engine === "pglite" ? "Embedded PostgreSQL (PGlite), peer: PostgreSQL only" : "PostgreSQL", servers)
  }
  console.log("\nRatios (median of alternating windows):")
  for (const { engine, servers } of results) {
    for (const server of servers) {
      const ord = server.rows.ordinary?.load
      const imp = server.rows.impersonated?.load
      // CPU per answer is steadier than throughput on a shared machine: shown beside it.
      const cpuRatio = ord && imp ? ord.cpuMs / ord.ops / (imp.cpuMs / imp.ops) : null
      console.log(
        `  ${engine} ${server.name}: impersonated/ordinary ${fmt(median(server.ratios), 2)} ops/s (windows ${server.ratios.map((r) => r.toFixed(2)).join(", ")}); by CPU per answer ${fmt(cpuRatio, 2)}`,
      )
    }
    const [ours, peer] = servers
    if (ours && peer) {
      for (const scenario of ["none", "ordinary", "impersonated", "cycle"] as const) {
        const a = ours.rows[scenario]?.load
        const b = peer.rows[scenario]?.load
        if (a && b) console.log(`  ${engine} ours/peer ${scenario}: ${fmt(a.ops / a.seconds / (b.ops / b.seconds), 2)} ops/s`)
      }
    }
  }
  for (const { engine, servers } of results) {
    for (const server of servers) {
      console.log(`  ${engine} ${server.name}: idle ${fmt(server.idleStatementsPerSecond, 2)} statements/s on the wire (subtracted)`)
    }
  }
  if (args.sql) {
    for (const { engine, servers } of results) {
      for (const server of servers) {
        for (const [scenario, row] of Object.entries(server.rows)) {
          if (row.sql.trace) {
            console.log(`\nSQL of one ${scenario} (${engine}, ${server.name}), ${row.sql.trace.length} statements:`)
            for (const [i, sql] of row.sql.trace.entries()) console.log(`  ${i + 1}. ${sql.replace(/\s+/g, " ").slice(0, 220)}`)
          }
          if (row.sql.mismatch) {
            const [label, ...statements] = row.sql.mismatch
            console.log(`\nSQL of a ${scenario} whose header and wire differ ${label}:`)
            for (const [i, sql] of statements.entries()) console.log(`  ${i + 1}. ${sql.replace(/\s+/g, " ").slice(0, 220)}`)
          }
        }
      }
    }
  }
  console.log("\nAudit append, 50 writers on PostgreSQL (each with a connection of its own; the chain verified after each run):")
  for (const mode of ["group", "transaction", "ceiling"] as const) {
    const run = appends[mode]
    const figures =
      typeof run === "string"
        ? run
        : `${run.eventsPerSecond.toLocaleString("en-US")} events/s` +
          (mode === "ceiling" ? "" : `, seal lag p99 ${fmt(run.sealLagP99Ms, 0)} ms, chain ${run.verified ? "verifies" : `does not verify: ${run.problem}`}`) +
          `, bench process CPU ${run.nodeCpuPercent ?? "n/a"}%`
    console.log(`  ${APPEND_LINES[mode].padEnd(76)} ${figures}`)
  }
  const append = appends.group
  console.log(`\n${machine(pgVersion)}\n`)

  // The targets (issue 9, item 5). Statement counts: the wire on PostgreSQL, the header on PGlite.
  for (const { engine, servers } of results) {
    for (const server of servers) {
      checks.check(`${engine} ${server.name}: each session reads as what it is`, server.sanity.ok, server.sanity.detail)
      const measured = (["none", "ordinary", "impersonated", "cycle"] as const).map((s) => server.rows[s]?.load)
      const failures = measured.reduce((sum, load) => sum + (load?.failures ?? 0), 0)
      checks.check(`${engine} ${server.name}: every measured request succeeded`, failures === 0, failures ? `${failures} failed; ${server.failureSamples.join(" | ")}` : "")
    }
    const ours = servers.find((s) => s.name === "ours")
    if (!ours) continue
    const source = engine === "postgres" ? "wire" : "header"
    const statements = (scenario: Scenario) => ours.rows[scenario]?.sql[source] ?? null
    const atMost = (scenario: Scenario, limit: number, label: string) => {
      const value = statements(scenario)
      checks.check(
        `${engine} ours: ${label} at most ${limit} statements`,
        value !== null && value <= limit + 0.05,
        value === null ? `no count (${source === "header" ? "the server sends no X-Sql-Statements header" : "no wire count"})` : `${fmt(value, 2)} (${source})`,
      )
    }
    atMost("ordinary", 2, "getCurrentUser with an ordinary session")
    atMost("impersonated", 2, "getCurrentUser with an impersonation session")
    const ratio = median(ours.ratios)
    checks.check(`${engine} ours: impersonated/ordinary throughput at least 0.95`, ratio >= 0.95, `${fmt(ratio, 3)} (median of ${ours.ratios.length} pairs of windows)`)
    atMost("start", 8, "a start")
    atMost("stop", 6, "a stop")
    if (engine === "postgres") {
      // The wire also sees what runs after an answer (e.g. a checkpoint every 100 audit events):
      // over a batch the two may differ by one statement.
      const mismatch = (["none", "ordinary", "impersonated", "start", "stop"] as const).filter((s) => {
        const sql = ours.rows[s]?.sql
        return !sql || sql.header === null || sql.wire === null || Math.abs(sql.header - sql.wire) * sql.ops > 1.01
      })
      const differences = mismatch.map((s) => {
        const sql = ours.rows[s]?.sql
        if (!sql || sql.header === null) return `${s}: no header`
        return `${s}: ${Math.round(((sql.wire ?? 0) - sql.header) * sql.ops)} statement(s) on the wire over ${sql.ops} ops that no header counted`
      })
      checks.check(
        "postgres ours: the X-Sql-Statements header agrees with the wire count (within one statement per batch)",
        mismatch.length === 0,
        differences.join("; ") + (differences.some((d) => d.includes("on the wire")) ? " (--sql shows one such op)" : ""),
      )
    }
  }
  if (results.some((r) => r.engine === "postgres")) {
    const ok = typeof append !== "string" && append.eventsPerSecond >= 1000 && append.verified
    checks.check(
      "postgres: audit append (appendAuditEvent) at least 1,000 events/s with 50 writers, and the chain verifies",
      ok,
      typeof append === "string" ? append : `${append.eventsPerSecond} events/s, chain ${append.verified ? "verifies" : `does not verify${append.problem ? `: ${append.problem}` : ""}`}`,
    )
  }
  console.log(`\n${checks.summary()} (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  return checks.failed
}

main().then(
  (failed) => process.exit(failed ? 1 : 0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    console.log("\n0 passed, 1 failed")
    process.exit(1)
  },
)

/**
 * The measuring half of `npm run bench` (test/bench/http.ts): load windows with autocannon,
 * start/stop loops, CPU time of the serving process and of PostgreSQL's backends, and SQL
 * statements per operation, one operation at a time, from the wire and from the app's header.
 */
import { execFileSync } from "node:child_process"
import fs from "node:fs"
import { performance } from "node:perf_hooks"
import autocannon from "autocannon"
import { Client } from "pg"
import { sleep } from "test/helpers/httpApp"
import { POSTGRES_ADMIN_URL } from "test/helpers/postgres"
import type { CountingProxy } from "./wireCounter"

export type BenchSettings = {
  /** Seconds per scenario (no session; start/stop cycles). */
  seconds: number
  quick: boolean
  /** Alternating windows per side for the impersonated/ordinary ratio, and the seconds of each. */
  windows: number
  windowSeconds: number
  /** Concurrent connections for the read scenarios. */
  connections: number
  /** Operations per statement-counting batch (sequential), and start/stop cycles counted. */
  countBatch: number
  countCycles: number
  /** Keep the SQL text of counted operations (--sql). */
  traceSql: boolean
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100
  } catch {
    return 100
  }
})()

/** `cpuMs`: the server process's CPU; `dbCpuMs`: PostgreSQL's backends for its database. */
export type Load = { ops: number; seconds: number; latencies: number[]; failures: number; cpuMs: number; dbCpuMs: number | null }
/**
 * Statements per op over `ops` sequential ops. With --sql, `trace`: the SQL of the first op as
 * the wire saw it; `mismatch`: that of the first op whose wire count differed from its header.
 */
export type Counted = {
  ops: number
  header: number | null
  /** The request's statements on the wire (the audit sealer's own connection not included). */
  wire: number | null
  /** What the audit sealer sent on its own connection after the op (its events' seals, receipts, webhooks). */
  sealer: number | null
  trace?: string[]
  mismatch?: string[]
}

/** The audit sealer's connection (app/audit/sealer.ts), counted apart from the requests. */
const SEALER = "audit-sealer"
export type Row = { load: Load | null; sql: Counted }
export type Scenario = "none" | "ordinary" | "impersonated" | "cycle" | "start" | "stop"
export type ServerResult = {
  name: string
  rows: Partial<Record<Scenario, Row>>
  /** Impersonated/ordinary requests per second, per alternating pair of windows. */
  ratios: number[]
  idleStatementsPerSecond: number | null
  sanity: { ok: boolean; detail: string }
  failureSamples: string[]
}

/** utime + stime of a process, in ms (fields 14 and 15 of /proc/<pid>/stat); 0 once it is gone. */
function cpuMs(pid: number): number {
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return 0
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS
}

/**
 * Whose CPU a measurement reads: the serving process, and on PostgreSQL the server's backends
 * connected to the scratch database (found in pg_stat_activity; on this machine, not remotely).
 */
export type Meter = { pid: number; database: { name: string; admin: Client } | null }
type CpuSnapshot = { server: number; backends: Map<number, number> | null }

async function backendCpu(meter: Meter): Promise<Map<number, number> | null> {
  if (!meter.database) return null
  const { rows } = await meter.database.admin.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [meter.database.name],
  )
  return new Map(rows.map(({ pid }) => [pid, cpuMs(pid)]))
}

/** A meter for the serving process and, given its database URL, that database's backends. */
export async function meterFor(pid: number, databaseUrl: string | null): Promise<Meter> {
  if (!databaseUrl) return { pid, database: null }
  const admin = new Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  return { pid, database: { name: decodeURIComponent(new URL(databaseUrl).pathname.slice(1)), admin } }
}

async function cpuSnapshot(meter: Meter): Promise<CpuSnapshot> {
  return { server: cpuMs(meter.pid), backends: await backendCpu(meter) }
}

async function cpuSince(meter: Meter, before: CpuSnapshot): Promise<{ cpuMs: number; dbCpuMs: number | null }> {
  const server = cpuMs(meter.pid) - before.server
  const after = await backendCpu(meter)
  if (!after || !before.backends) return { cpuMs: server, dbCpuMs: null }
  let db = 0
  for (const [pid, ms] of after) db += ms - (before.backends.get(pid) ?? 0)
  return { cpuMs: server, dbCpuMs: db }
}

export function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

function mergeLoads(loads: Load[]): Load {
  return {
    ops: loads.reduce((s, l) => s + l.ops, 0),
    seconds: loads.reduce((s, l) => s + l.seconds, 0),
    latencies: loads.flatMap((l) => l.latencies),
    failures: loads.reduce((s, l) => s + l.failures, 0),
    cpuMs: loads.reduce((s, l) => s + l.cpuMs, 0),
    dbCpuMs: loads.some((l) => l.dbCpuMs === null) ? null : loads.reduce((s, l) => s + l.dbCpuMs!, 0),
  }
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export type HttpLoad = { url: string; method: string; headers: Record<string, string>; body?: string; ok: (body: string) => boolean }

/** autocannon at `connections` connections for `seconds`; latencies from every response. */
async function autocannonLoad(meter: Meter, load: HttpLoad, seconds: number, connections: number): Promise<Load> {
  const latencies: number[] = []
  let failures = 0
  const cpuBefore = await cpuSnapshot(meter)
  const started = performance.now()
  const result = await new Promise<{ errors: number; timeouts: number }>((resolve, reject) => {
    const instance = autocannon(
      {
        url: load.url,
        connections,
        duration: seconds,
        method: load.method,
        headers: load.headers,
        body: load.body,
        requests: [{ onResponse: (status, body) => void ((status < 200 || status > 299 || !load.ok(body)) && failures++) }],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    )
    instance.on("response", (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime))
  })
  const elapsed = (performance.now() - started) / 1000
  const cpu = await cpuSince(meter, cpuBefore)
  return { ops: latencies.length, seconds: elapsed, latencies, failures: failures + result.errors + result.timeouts, ...cpu }
}

/** Waits until the wire has been quiet for 40 ms (at most 2 s). */
export async function quiet(wire: CountingProxy | null) {
  if (!wire) return
  const deadline = Date.now() + 2000
  let last = wire.total()
  while (Date.now() < deadline) {
    await sleep(40)
    const now = wire.total()
    if (now === last) return
    last = now
  }
}

/** Lets requests a window left in flight finish before the next window starts. */
async function settle(wire: CountingProxy | null) {
  await sleep(300)
  await quiet(wire)
}

export type Op = () => Promise<{ ok: boolean; header: number | null; detail?: string }>

export function sqlHeader(response: Response): number | null {
  const value = response.headers.get("x-sql-statements")
  return value === null || value === "" || !Number.isFinite(Number(value)) ? null : Number(value)
}

/**
 * Statements per op, one op at a time with the wire quiet before and after each, so that each op's
 * wire count is its own (what it sets off after answering included) minus the idle rate. With
 * --sql the first op's SQL is kept, and the first op whose wire count differs from its header.
 */
class StatementTally {
  private headers: number[] = []
  private wireTotal = 0
  private sealerTotal = 0
  private ops = 0
  private trace: string[] | undefined
  private mismatch: string[] | undefined
  constructor(
    private wire: CountingProxy | null,
    private idleRate: number,
    private traceSql: boolean,
  ) {}

  async run(op: Op, what: string) {
    const wire = this.wire
    await quiet(wire)
    const before = wire?.total(SEALER) ?? 0
    const sealerBefore = wire?.totalOf(SEALER) ?? 0
    const started = performance.now()
    if (this.traceSql) wire?.beginTrace()
    const { ok, header, detail } = await op()
    if (!ok) throw new Error(`a counted ${what} failed: ${detail ?? "no detail"}`)
    await quiet(wire)
    const traced = this.traceSql ? wire?.endTrace() : undefined
    const onWire = (wire?.total(SEALER) ?? 0) - before
    this.sealerTotal += (wire?.totalOf(SEALER) ?? 0) - sealerBefore
    this.wireTotal += onWire - (this.idleRate * (performance.now() - started)) / 1000
    if (header !== null) this.headers.push(header)
    if (this.ops === 0) this.trace = traced
    if (traced && header !== null && header !== onWire && !this.mismatch) {
      this.mismatch = [`(op ${this.ops + 1}: header ${header}, wire ${onWire})`, ...traced]
    }
    this.ops++
  }

  result(): Counted {
    return {
      ops: this.ops,
      header: this.headers.length === this.ops ? this.headers.reduce((a, b) => a + b, 0) / this.ops : null,
      wire: this.wire ? this.wireTotal / this.ops : null,
      sealer: this.wire ? this.sealerTotal / this.ops : null,
      trace: this.trace,
      mismatch: this.mismatch,
    }
  }
}

async function countBatch(op: Op, wire: CountingProxy | null, idleRate: number, settings: BenchSettings): Promise<Counted> {
  const tally = new StatementTally(wire, idleRate, settings.traceSql)
  for (let i = 0; i < settings.countBatch; i++) await tally.run(op, "read")
  return tally.result()
}

export type Cycler = { start: Op; stop: Op }

/** One loop per cycler for `seconds`: start then stop, over and over. */
async function cycleLoad(meter: Meter, cyclers: Cycler[], seconds: number, samples: string[]) {
  const startLat: number[] = []
  const stopLat: number[] = []
  let failures = 0
  let cycles = 0
  const cpuBefore = await cpuSnapshot(meter)
  const started = performance.now()
  const deadline = started + seconds * 1000
  await Promise.all(
    cyclers.map(async (cycler) => {
      while (performance.now() < deadline) {
        let t = performance.now()
        const a = await cycler.start()
        startLat.push(performance.now() - t)
        t = performance.now()
        const b = await cycler.stop()
        stopLat.push(performance.now() - t)
        if (!a.ok || !b.ok) {
          failures++
          if (samples.length < 3) samples.push(`${a.ok ? "" : `start: ${a.detail}`} ${b.ok ? "" : `stop: ${b.detail}`}`.trim())
        }
        cycles++
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  const cpu = await cpuSince(meter, cpuBefore)
  const load = (latencies: number[]): Load => ({ ops: cycles, seconds: elapsed, latencies, failures, ...cpu })
  return { cycle: load([]), start: load(startLat), stop: load(stopLat) }
}

/** Start and stop counted apart: sequential cycles. */
async function countCycles(cycler: Cycler, wire: CountingProxy | null, idleRate: number, settings: BenchSettings) {
  const tallies = {
    start: new StatementTally(wire, idleRate, settings.traceSql),
    stop: new StatementTally(wire, idleRate, settings.traceSql),
  }
  for (let i = 0; i < settings.countCycles; i++) {
    await tallies.start.run(cycler.start, "start")
    await tallies.stop.run(cycler.stop, "stop")
  }
  const start = tallies.start.result()
  const stop = tallies.stop.result()
  const sum = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b)
  return {
    start,
    stop,
    cycle: {
      ops: settings.countCycles,
      header: sum(start.header, stop.header),
      wire: sum(start.wire, stop.wire),
      sealer: sum(start.sealer, stop.sealer),
    },
  }
}

/** Statements the server sends per second while nobody asks it anything. */
async function idleRate(wire: CountingProxy | null, seconds: number): Promise<number | null> {
  if (!wire) return null
  await quiet(wire)
  const before = wire.total()
  await sleep(seconds * 1000)
  return (wire.total() - before) / seconds
}

/** The scenarios common to both servers, given how to reach each. */
export async function measure(
  result: ServerResult,
  meter: Meter,
  wire: CountingProxy | null,
  reads: Record<"none" | "ordinary" | "impersonated", { load: HttpLoad; op: Op }>,
  cyclers: Cycler[],
  settings: BenchSettings,
) {
  const { seconds, windows, windowSeconds, connections } = settings
  // Warm-up: JIT, route modules, connection pools.
  const warm = settings.quick ? 0.5 : 1
  for (const read of Object.values(reads)) await autocannonLoad(meter, read.load, warm, connections)
  for (const cycler of cyclers) for (let i = 0; i < 3; i++) await cycler.start().then(() => cycler.stop())

  const idle = await idleRate(wire, Math.max(2, seconds / 2))
  result.idleStatementsPerSecond = idle
  const rate = idle ?? 0

  console.log(`  ${result.name}: no session`)
  await settle(wire)
  result.rows.none = {
    load: await autocannonLoad(meter, reads.none.load, seconds, connections),
    sql: await countBatch(reads.none.op, wire, rate, settings),
  }

  console.log(`  ${result.name}: ordinary and impersonated sessions, ${windows} alternating windows of ${windowSeconds} s each`)
  const ordinary: Load[] = []
  const impersonated: Load[] = []
  for (let w = 0; w < windows; w++) {
    // A B, then B A: a drift in the machine's load hits both sides alike.
    const order = w % 2 === 0 ? (["ordinary", "impersonated"] as const) : (["impersonated", "ordinary"] as const)
    for (const side of order) {
      await settle(wire)
      const load = await autocannonLoad(meter, reads[side].load, windowSeconds, connections)
      ;(side === "ordinary" ? ordinary : impersonated).push(load)
    }
    result.ratios.push(impersonated[w]!.ops / impersonated[w]!.seconds / (ordinary[w]!.ops / ordinary[w]!.seconds))
  }
  result.rows.ordinary = { load: mergeLoads(ordinary), sql: await countBatch(reads.ordinary.op, wire, rate, settings) }
  result.rows.impersonated = { load: mergeLoads(impersonated), sql: await countBatch(reads.impersonated.op, wire, rate, settings) }

  console.log(`  ${result.name}: start/stop cycles, ${cyclers.length} admins at once`)
  await settle(wire)
  const cycles = await cycleLoad(meter, cyclers, seconds, result.failureSamples)
  const counted = await countCycles(cyclers[0]!, wire, rate, settings)
  result.rows.cycle = { load: cycles.cycle, sql: counted.cycle }
  result.rows.start = { load: cycles.start, sql: counted.start }
  result.rows.stop = { load: cycles.stop, sql: counted.stop }
}

/**
 * `npm run bench:audit [-- --embedded]`: the audit log at scale, through the app's own code.
 * - Seeds BENCH_SIZE audit events (default 1,000,000 on PostgreSQL, 100,000 embedded) into a
 *   scratch database, with a progress bar (generate_series in chunks; the append-only trigger
 *   allows INSERT; rows arrive as sealed, but the hashes are only unique, not a chain: this
 *   measures reads).
 * - Times a deep filtered page through `searchAuditEvents` (keyset) next to the same filter
 *   with OFFSET paging, as a ratio.
 * - Streams the CSV of every event through the real route handler (`GET /admin/audit/export`)
 *   with a real session, and reports the process's memory growth (RSS high-water minus the
 *   baseline), the bytes and the rows streamed.
 */
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { performance } from "node:perf_hooks"
import { Presets, SingleBar } from "cli-progress"
import type { AuditFilter, AuditScope } from "app/audit/search"

const embedded = process.argv.includes("--embedded")
const size = Number(process.env.BENCH_SIZE ?? (embedded ? 100_000 : 1_000_000))
if (!Number.isInteger(size) || size < 1000)
  throw new Error("BENCH_SIZE must be a whole number of at least 1000")

const ADMINS = 20
const USERS = 2000
const ORGANIZATIONS = 50
const PAGE_SIZE = 50
const KEYSET_RUNS = 300
const OFFSET_RUNS = 40

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-audit-"))
// Before any app module loads: db/index.ts and blitz.config.ts read these once.
process.env.AUDIT_CHECKPOINT_FILE = path.join(tmp, "audit-checkpoints.jsonl")
process.env.AUDIT_HMAC_KEY ??= "bench-audit-key-that-is-long-enough-0123456789"
process.env.LOG_LEVEL = "warn"
// The bench's rows are not a chain: no checkpoint may try to walk them while it runs.
process.env.AUDIT_CHECKPOINT_SECONDS = "86400"
process.env.AUDIT_CHECKPOINT_EVERY = "1000000000"

type Stats = { median: number; p95: number }

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
  return { median: at(0.5), p95: at(0.95) }
}

async function time(runs: number, warmup: number, fn: () => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn()
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn()
    samples.push(performance.now() - start)
  }
  return stats(samples)
}

const ms = (value: number) => `${value.toFixed(2)} ms`
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

async function main() {
  let dropDatabase: (() => Promise<void>) | null = null
  if (embedded) {
    delete process.env.DATABASE_URL
    process.env.PGLITE_DATA_DIR = path.join(tmp, "pglite")
  } else {
    const { createScratchDatabase } = await import("test/helpers/postgres")
    const { migratePostgres } = await import("db/migrate")
    const scratch = await createScratchDatabase("bench_audit")
    dropDatabase = scratch.drop
    await migratePostgres(scratch.url)
    process.env.DATABASE_URL = scratch.url
  }
  const { default: db, engine } = await import("db")
  const { describeEngine, closeEmbedded } = await import("db/engine")
  console.log(
    `Audit log bench: ${size.toLocaleString("en")} events in a scratch ${describeEngine(engine)}`,
  )
  try {
    await run(db)
  } finally {
    await db.$disconnect()
    if (engine.kind === "pglite") await closeEmbedded(engine.dataDir)
    // BENCH_KEEP=1 keeps the scratch PostgreSQL database for EXPLAIN (drop it by hand afterwards).
    if (!process.env.BENCH_KEEP) await dropDatabase?.()
    else if (dropDatabase) console.log(`Kept: ${process.env.DATABASE_URL}`)
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

async function seed(db: typeof import("db").default) {
  const { SecurePassword } = await import("@blitzjs/auth/secure-password")
  const { PASSWORD } = await import("test/helpers/fixtures")
  const exporter = await db.user.create({
    data: {
      email: "bench-superadmin@bench.example",
      name: "Bench Superadmin",
      role: "SUPERADMIN",
      hashedPassword: await SecurePassword.hash(PASSWORD),
    },
  })
  await db.$executeRawUnsafe(`
    INSERT INTO "User" ("email", "name", "role", "updatedAt")
    SELECT 'bench-admin-' || i || '@bench.example', 'Bench Admin ' || i, 'SUPPORT', now()
    FROM generate_series(1, ${ADMINS}) AS i`)
  await db.$executeRawUnsafe(`
    INSERT INTO "User" ("email", "name", "updatedAt")
    SELECT 'bench-user-' || i || '@bench.example', 'Bench User ' || i, now()
    FROM generate_series(1, ${USERS}) AS i`)
  await db.$executeRawUnsafe(`
    INSERT INTO "Organization" ("name") SELECT 'Bench Org ' || i FROM generate_series(1, ${ORGANIZATIONS}) AS i`)
  const firstAdmin = (
    await db.user.findUniqueOrThrow({ where: { email: "bench-admin-1@bench.example" } })
  ).id
  const firstUser = (
    await db.user.findUniqueOrThrow({ where: { email: "bench-user-1@bench.example" } })
  ).id
  const firstOrg = (await db.organization.findUniqueOrThrow({ where: { name: "Bench Org 1" } })).id

  // Sealed with the bench's key id, so the sealer goes on after them (the export's own event).
  const keyId = (await import("app/audit/key")).auditKey().id
  // A year of events, oldest first (ids in time order, as the app writes them).
  const end = Date.now() - 60_000
  const stepMs = Math.floor((365 * 86_400_000) / size)
  const start = new Date(end - stepMs * size).toISOString().replace("T", " ").replace("Z", "")
  const chunk = embedded ? 10_000 : 50_000
  const bar = new SingleBar(
    {
      format: "Seeding audit events |{bar}| {percentage}% | {value}/{total} | {duration_formatted}",
    },
    Presets.shades_classic,
  )
  bar.start(size, 0)
  for (let from = 1; from <= size; from += chunk) {
    const to = Math.min(size, from + chunk - 1)
    // Actions: 10% started, 10% ended, 40% signed in, 20% signed out, 5% refused, 10% failed, 5% tokens.
    await db.$executeRawUnsafe(`
      INSERT INTO "AuditEvent"
        ("at", "action", "actorId", "subjectId", "impersonationId", "organizationId", "ip", "userAgent",
         "details", "chainPosition", "prevHash", "hash", "keyId", "sealedAt")
      SELECT
        '${start}'::timestamp + (i::bigint * ${stepMs}) * interval '1 millisecond',
        (CASE i % 20
          WHEN 0 THEN 'IMPERSONATION_STARTED' WHEN 1 THEN 'IMPERSONATION_STARTED'
          WHEN 2 THEN 'IMPERSONATION_ENDED' WHEN 3 THEN 'IMPERSONATION_ENDED'
          WHEN 4 THEN 'SIGNED_OUT' WHEN 5 THEN 'SIGNED_OUT' WHEN 6 THEN 'SIGNED_OUT' WHEN 7 THEN 'SIGNED_OUT'
          WHEN 8 THEN 'IMPERSONATION_REFUSED'
          WHEN 9 THEN 'SIGN_IN_FAILED' WHEN 10 THEN 'SIGN_IN_FAILED'
          WHEN 11 THEN 'ACTOR_TOKEN_CREATED'
          ELSE 'SIGNED_IN' END)::"AuditAction",
        ${firstAdmin} + (i * 7) % ${ADMINS},
        ${firstUser} + ((i::bigint * 7919) % ${USERS})::int,
        CASE WHEN i % 20 < 4 THEN i / 2 END,
        CASE WHEN i % 3 = 0 THEN ${firstOrg} + (i / 3) % ${ORGANIZATIONS} END,
        '203.0.113.' || (i % 250),
        'Mozilla/5.0 (bench)',
        jsonb_build_object('reason', 'Bench ticket ' || (i % 997), 'ticketUrl', 'https://support.example.com/tickets/' || i),
        i,
        NULL,
        'bench-' || i,
        '${keyId}',
        now()
      FROM generate_series(${from}, ${to}) AS i`)
    bar.update(to)
  }
  bar.stop()
  await db.$executeRawUnsafe(`ANALYZE "AuditEvent"`)
  return { exporter, firstAdmin, firstOrg }
}

async function run(db: typeof import("db").default) {
  const seeded = await seed(db)
  const search = await import("app/audit/search")
  const { Prisma } = await import("db")
  const WHOLE: AuditScope = { wholePlatform: true }
  const daysAgo = (days: number) =>
    new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10)
  const orgScope: AuditScope = { wholePlatform: false, organizationIds: [seeded.firstOrg + 7] }
  const adminEmail = (n: number) => `bench-admin-${n}@bench.example`
  // Each filter as the page receives it (URL parameters), resolved by the app's own code.
  const queries: Array<{ label: string; params: Record<string, string>; scope: AuditScope }> = [
    {
      label: "action = IMPERSONATION_STARTED",
      params: { action: "IMPERSONATION_STARTED" },
      scope: WHOLE,
    },
    { label: "admin = one of 20", params: { admin: adminEmail(4) }, scope: WHOLE },
    { label: "org admin's scope (1 of 50 orgs)", params: {}, scope: orgScope },
    {
      label: "admin + action + last 30 days",
      params: { admin: adminEmail(6), action: "SIGNED_IN", from: daysAgo(30) },
      scope: WHOLE,
    },
    {
      label: "one week, six months ago",
      params: { from: daysAgo(190), to: daysAgo(184) },
      scope: WHOLE,
    },
  ]
  const cases: Array<{
    label: string
    params: Record<string, string>
    filter: AuditFilter
    scope: AuditScope
  }> = []
  for (const { label, params, scope } of queries) {
    const parsed = search.parseAuditQuery(params)
    if (!parsed.ok) throw new Error(`${label}: ${parsed.messages.join("; ")}`)
    const resolved = await search.resolveAuditFilter(parsed.query, scope)
    if (!resolved.ok) throw new Error(`${label}: ${resolved.message}`)
    cases.push({ label, params, filter: resolved.filter, scope })
  }

  console.log(
    `\nDeep filtered page (${PAGE_SIZE} rows) through searchAuditEvents vs the same filter with OFFSET:`,
  )
  const results: Array<{
    label: string
    depth: number
    keyset: Stats
    offset: Stats
    resolve: Stats
  }> = []
  for (const { label, params, filter, scope } of cases) {
    const where = search.auditConditions(filter, scope)
    // Counted once to pick a deep page; the app itself never counts.
    const counted = await db.$queryRaw<Array<{ matches: number }>>`
      SELECT count(*)::int AS "matches" FROM "AuditEvent" e WHERE ${
        where.length ? Prisma.join(where, " AND ") : Prisma.sql`TRUE`
      }`
    const matches = counted[0]!.matches
    // The page 10,000 rows down (page 201), or halfway for a smaller result.
    const depth = Math.min(10_000, Math.floor(matches / 2 / PAGE_SIZE) * PAGE_SIZE)
    const offsetQuery = search.auditEventsSql(filter, scope, {
      limit: PAGE_SIZE,
      offsetForComparison: depth,
    })
    const [cursorRow] = await db.$queryRaw<Array<{ id: number }>>(
      search.auditEventsSql(filter, scope, { limit: 1, offsetForComparison: depth }),
    )
    if (!cursorRow) throw new Error(`${label}: no row at ${depth} of ${matches} matches`)
    const before = cursorRow.id + 1 // the deep page starts at this row
    const keysetPage = await search.searchAuditEvents(filter, scope, {
      before,
      pageSize: PAGE_SIZE,
    })
    const offsetPage = await db.$queryRaw<Array<{ id: number }>>(offsetQuery)
    if (keysetPage.events.map((row) => row.id).join() !== offsetPage.map((row) => row.id).join()) {
      throw new Error(`${label}: the keyset page and the OFFSET page differ`)
    }
    const keyset = await time(KEYSET_RUNS, 20, () =>
      search.searchAuditEvents(filter, scope, { before, pageSize: PAGE_SIZE }),
    )
    // Resolving the URL's filter (emails to ids, days to id bounds) comes before each page view.
    const resolve = await time(KEYSET_RUNS / 3, 5, () =>
      search.resolveAuditFilter(search.AuditQuery.parse(params), scope),
    )
    const offset = await time(OFFSET_RUNS, 3, () => db.$queryRaw(offsetQuery))
    results.push({ label, depth, keyset, offset, resolve })
    console.log(
      `  ${label.padEnd(34)} ${matches
        .toLocaleString("en")
        .padStart(9)} matches, page at row ${depth.toLocaleString("en").padStart(6)}: ` +
        `keyset median ${ms(keyset.median)}, p95 ${ms(keyset.p95)} | OFFSET median ${ms(
          offset.median,
        )}, p95 ${ms(offset.p95)} | ` +
        `${(offset.median / keyset.median).toFixed(1)}x | resolving the filter: median ${ms(
          resolve.median,
        )}`,
    )
  }
  const chart = await time(30, 3, () => search.impersonationsPerDay(WHOLE))
  console.log(
    `  chart: impersonations per day, 30 days, one GROUP BY: median ${ms(chart.median)}, p95 ${ms(
      chart.p95,
    )}`,
  )

  // The CSV of every event, through the real route handler, as a signed-in SUPERADMIN.
  const { TestBrowser } = await import("test/helpers/browser")
  const { PASSWORD } = await import("test/helpers/fixtures")
  const { GET } = await import("app/admin/audit/export/route")
  const browser = new TestBrowser()
  await browser.login(seeded.exporter.email, PASSWORD)
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const baseline = process.memoryUsage().rss
  const heapBaseline = process.memoryUsage().heapUsed
  let highWater = baseline
  const quarters: number[] = []
  const sampler = setInterval(
    () => (highWater = Math.max(highWater, process.memoryUsage().rss)),
    10,
  )
  const exportStart = performance.now()
  const response = await GET(
    new Request("http://localhost/admin/audit/export", {
      headers: { cookie: browser.cookieHeader() },
    }),
  )
  if (response.status !== 200)
    throw new Error(`export answered ${response.status}: ${await response.text()}`)
  const reader = response.body!.getReader()
  let bytes = 0
  let lines = 0
  const bar = new SingleBar(
    {
      format:
        "Streaming the CSV     |{bar}| {percentage}% | {value}/{total} rows | {duration_formatted}",
    },
    Presets.shades_classic,
  )
  bar.start(size, 0)
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    bytes += value.byteLength
    for (const byte of value) if (byte === 10) lines++
    highWater = Math.max(highWater, process.memoryUsage().rss)
    // The high-water mark at each quarter: flat after the first, if nothing accumulates.
    while (quarters.length < 4 && lines - 1 >= ((quarters.length + 1) * size) / 4)
      quarters.push(highWater - baseline)
    bar.update(Math.max(0, lines - 1))
  }
  bar.stop()
  clearInterval(sampler)
  const exportSeconds = (performance.now() - exportStart) / 1000
  const rows = lines - 1 // the header; the bench's cells hold no line breaks
  if (rows !== size + 1) {
    // + 1: the bench's own superadmin signed in (SIGNED_IN is audited) and is exported too.
    console.warn(`Warning: ${rows} rows streamed, ${size + 1} expected`)
  }
  const growth = highWater - baseline
  gc?.()
  const retained = process.memoryUsage().heapUsed - heapBaseline

  const worst = results.reduce((a, b) => (b.keyset.p95 > a.keyset.p95 ? b : a))
  const slowest = results.reduce((a, b) => (b.keyset.median > a.keyset.median ? b : a))
  const deepest = results.reduce((a, b) => (b.depth > a.depth ? b : a))
  const engineName = embedded ? "embedded PostgreSQL (PGlite)" : "PostgreSQL"
  console.log(`\nFigures (${size.toLocaleString("en")} events, ${engineName}):`)
  console.log(
    `filtered page p95 (keyset, worst of ${results.length} filters: ${worst.label}): ${ms(
      worst.keyset.p95,
    )} (target < 20 ms)`,
  )
  console.log(
    `filtered page median (keyset, worst: ${slowest.label}): ${ms(slowest.keyset.median)}`,
  )
  const resolveWorst = results.reduce((a, b) => (b.resolve.p95 > a.resolve.p95 ? b : a))
  console.log(
    `filter resolution p95 (emails, day bounds; worst: ${resolveWorst.label}): ${ms(
      resolveWorst.resolve.p95,
    )}`,
  )
  const deep = `${deepest.label}, page at row ${deepest.depth.toLocaleString("en")}`
  console.log(`deep page keyset p95 (${deep}): ${ms(deepest.keyset.p95)}`)
  console.log(`deep page OFFSET p95 (${deep}): ${ms(deepest.offset.p95)}`)
  console.log(
    `deep page OFFSET / keyset, median ratio (${deep}): ${(
      deepest.offset.median / deepest.keyset.median
    ).toFixed(1)}x`,
  )
  console.log(`chart query p95 (impersonations per day, 30 days): ${ms(chart.p95)}`)
  console.log(
    `CSV export memory growth (RSS high-water minus baseline): ${mb(growth)} (target < 100 MB)`,
  )
  console.log(
    `CSV export RSS high-water after 1/4, 2/4, 3/4, 4/4 of the rows: ${quarters
      .map(mb)
      .join(", ")}`,
  )
  console.log(`CSV export heap retained after it ends (after GC): ${mb(retained)}`)
  console.log(
    `CSV export streamed: ${rows.toLocaleString("en")} rows, ${mb(bytes)} (${bytes.toLocaleString(
      "en",
    )} bytes) in ${exportSeconds.toFixed(1)} s`,
  )
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error)
  process.exitCode = 1
})

/**
 * npm run bench:directory [-- --embedded]
 *
 * Seeds BENCH_SIZE users (default 1,000,000 on a PostgreSQL scratch database created on
 * TEST_POSTGRES_URL and dropped afterwards; 100,000 on a throwaway embedded PGlite with
 * --embedded), then times the admin console's own directory query (searchDirectory) for a
 * search and for a deep page, next to the same search with the trigram index unusable and the
 * same page reached with OFFSET. Prints median and p95 of each, the ratios, and one line per
 * figure at the end.
 */
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { SingleBar } from "cli-progress"

const embedded = process.argv.includes("--embedded")
const size = Number(process.env.BENCH_SIZE ?? (embedded ? 100_000 : 1_000_000))
if (!Number.isInteger(size) || size < 1_000) {
  console.error("BENCH_SIZE must be a whole number of at least 1000")
  process.exit(2)
}
const PAGE_SIZE = 25
const TARGET_P95_MS = 20
const TARGET_SPEEDUP = 10

// Deterministic, varied names: 20 first names, 27,000 surnames built from three syllables.
const FIRST = ["Ada", "Ben", "Cleo", "Dev", "Elif", "Femi", "Gia", "Hugo", "Ines", "Jae", "Kofi", "Lena", "Milo", "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess"]
const SYLLABLES = ["ka", "lo", "mi", "ra", "ten", "vor", "bel", "dun", "sa", "ri", "no", "gal", "pe", "zu", "han", "mo", "ti", "ver", "lan", "do", "ki", "ru", "sel", "ba", "fen", "ho", "li", "mar", "to", "wen"]
const sqlArray = (values: string[]) => `ARRAY[${values.map((v) => `'${v}'`).join(",")}]`
const FIRST_SQL = `(${sqlArray(FIRST)})[1 + i % ${FIRST.length}]`
const syllable = (divisor: number) => `(${sqlArray(SYLLABLES)})[1 + (i / ${divisor}) % ${SYLLABLES.length}]`
const SURNAME_SQL = `initcap(${syllable(FIRST.length)} || ${syllable(FIRST.length * 30)} || ${syllable(FIRST.length * 900)})`

function insertChunkSql(from: number, to: number): string {
  return `INSERT INTO "User" ("name", "email", "status", "updatedAt")
    SELECT first || ' ' || surname,
      lower(first || '.' || surname || '.' || i || '@example.org'),
      (CASE WHEN i % 17 = 0 THEN 'DISABLED' ELSE 'ACTIVE' END)::"UserStatus",
      now()
    FROM (SELECT i, ${FIRST_SQL} AS first, ${SURNAME_SQL} AS surname
          FROM generate_series(${from}, ${to}) AS i) AS generated`
}

type Stats = { median: number; p95: number }
function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
  return { median: at(0.5), p95: at(0.95) }
}

async function time(runs: number, warmup: number, fn: (run: number) => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn(i)
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await fn(i)
    samples.push(performance.now() - started)
  }
  return stats(samples)
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`

async function main() {
  let cleanup: () => Promise<void>
  let where: string
  if (embedded) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-directory-"))
    delete process.env.DATABASE_URL
    process.env.PGLITE_DATA_DIR = path.join(dir, "pglite")
    where = `embedded PostgreSQL (PGlite) in ${dir}`
    cleanup = async () => {
      const { closeEmbedded } = await import("db/engine")
      await closeEmbedded(process.env.PGLITE_DATA_DIR!)
      fs.rmSync(dir, { recursive: true, force: true })
    }
  } else {
    const { createScratchDatabase, POSTGRES_ADMIN_URL } = await import("test/helpers/postgres")
    const { migratePostgres } = await import("db/migrate")
    const database = await createScratchDatabase("bench_directory")
    await migratePostgres(database.url)
    process.env.DATABASE_URL = database.url
    where = `PostgreSQL scratch database on ${new URL(POSTGRES_ADMIN_URL).host}`
    cleanup = database.drop
  }
  // Imported only now: db/index.ts picks its engine from the environment set above.
  const { default: db, Prisma } = await import("db")
  const { DIRECTORY_COLUMNS, DirectoryQuery, directoryPageSql, searchDirectory, withMemberships } =
    await import("app/admin/directory")
  try {
    console.log(`Seeding ${size.toLocaleString("en")} users into ${where}`)
    const chunk = embedded ? 10_000 : 50_000
    const bar = new SingleBar({
      format: "users [{bar}] {percentage}% | {value}/{total} | {duration_formatted} elapsed, ETA {eta_formatted}",
      hideCursor: true,
      // Logs (CI, a pipe) get a line every few seconds instead of a redrawn bar.
      noTTYOutput: true,
      notTTYSchedule: 3000,
    })
    const seedStarted = performance.now()
    bar.start(size, 0)
    for (let from = 1; from <= size; from += chunk) {
      const to = Math.min(size, from + chunk - 1)
      await db.$executeRawUnsafe(insertChunkSql(from, to))
      bar.update(to)
    }
    bar.stop()
    await db.$executeRawUnsafe(`VACUUM ANALYZE "User"`)
    const seedSeconds = (performance.now() - seedStarted) / 1000
    console.log(`Seeded in ${seedSeconds.toFixed(1)} s (trigram indexes maintained, then VACUUM ANALYZE)`)

    // The viewer: platform staff see every user, as in the console.
    const viewer = { id: 0, role: "SUPERADMIN", status: "ACTIVE", impersonationConsent: "ALLOWED", memberships: [] } as const
    const admin = { ...viewer, memberships: [...viewer.memberships] }

    // Search terms a support person types: a surname, or the start of an email, of real users.
    const picks = Array.from({ length: 20 }, (_, k) => ((k + 1) * 7919) % size || 1)
    const targets = await db.user.findMany({ where: { id: { in: picks } }, select: { name: true, email: true } })
    if (targets.length === 0) throw new Error("seeding produced no users")
    const terms = targets.map((row, k) =>
      k % 2 === 0 ? row.name.split(" ")[1]! : row.email.split("@")[0]!.split(".").slice(1).join("."),
    )
    const matches = await Promise.all(
      terms.slice(0, 4).map(async (term) => (await searchDirectory({ viewer: admin, term, pageSize: 100 })).rows.length),
    )
    console.log(`Search terms (20, rotating), e.g. ${terms.slice(0, 4).map((t, i) => `"${t}" (${matches[i]}${matches[i] === 100 ? "+" : ""} matches)`).join(", ")}`)

    const plan = await db.$queryRaw<Array<{ "QUERY PLAN": string }>>(
      Prisma.sql`EXPLAIN ${directoryPageSql(admin, DirectoryQuery.parse({ term: terms[0] }))!}`,
    )
    console.log(`Plan of the search:\n${plan.map((row) => `  ${row["QUERY PLAN"]}`).join("\n")}`)

    const runs = 60
    const slowRuns = embedded ? 10 : 20
    const search = await time(runs, 5, (i) => searchDirectory({ viewer: admin, term: terms[i % terms.length]! }))
    const unindexedSql = (term: string) => directoryPageSql(admin, DirectoryQuery.parse({ term }))!
    // GIN indexes only serve bitmap scans: with those off, the same SQL is planned as if the
    // trigram indexes did not exist (a sequential scan, or the primary key with a filter).
    const searchUnindexed = await time(slowRuns, 1, (i) =>
      db.$transaction(async (tx) => {
        await tx.$executeRaw`SET LOCAL enable_bitmapscan = off`
        return tx.$queryRaw(unindexedSql(terms[i % terms.length]!))
      }),
    )

    const deepPageNumber = Math.max(2, Math.floor(size / PAGE_SIZE / 2))
    const offset = (deepPageNumber - 1) * PAGE_SIZE
    // The cursor a person reaches by pressing Next deepPageNumber-1 times: the last id of the
    // page before (looked up once here rather than walking there).
    const [cursorRow] = await db.$queryRaw<Array<{ id: number }>>`
      SELECT "id" FROM "User" ORDER BY "id" LIMIT 1 OFFSET ${offset - 1}`
    const after = cursorRow!.id
    const deepPage = await time(runs, 5, () => searchDirectory({ viewer: admin, after }))
    const keysetIds = (await searchDirectory({ viewer: admin, after })).rows.map((row) => row.id)
    // The app's page SQL with the keyset condition swapped for OFFSET (same columns, same
    // per-row memberships), which is what an OFFSET-paged directory would run.
    const offsetSql = (skip: number) =>
      withMemberships(Prisma.sql`${DIRECTORY_COLUMNS} ORDER BY u."id" ASC LIMIT ${PAGE_SIZE + 1} OFFSET ${skip}`)
    const offsetIds = (await db.$queryRaw<Array<{ id: number }>>(offsetSql(offset))).slice(0, PAGE_SIZE).map((r) => r.id)
    if (JSON.stringify(offsetIds) !== JSON.stringify(keysetIds)) throw new Error("keyset and OFFSET pages differ")
    const deepPageOffset = await time(slowRuns, 1, () => db.$queryRaw(offsetSql(offset)))

    // An organization admin's directory: members of one organization holding 1% of the users.
    const organization = await db.organization.create({ data: { name: `Bench ${Date.now()}` } })
    await db.$executeRaw`INSERT INTO "Membership" ("organizationId", "userId", "role")
      SELECT ${organization.id}, "id", 'MEMBER' FROM "User" WHERE "id" % 100 = 0`
    await db.$executeRawUnsafe(`ANALYZE "Membership"`)
    const orgAdmin = {
      ...admin,
      role: "USER" as const,
      memberships: [{ organizationId: organization.id, role: "ADMIN" as const }],
    }
    const orgFirstPage = await time(runs, 5, () => searchDirectory({ viewer: orgAdmin }))
    const orgSearch = await time(runs, 5, (i) => searchDirectory({ viewer: orgAdmin, term: terms[i % terms.length]! }))

    const searchSpeedup = searchUnindexed.p95 / search.p95
    const deepSpeedup = deepPageOffset.p95 / deepPage.p95
    const engineName = embedded ? "PGlite" : "PostgreSQL"
    console.log("")
    console.log(`Directory at ${size.toLocaleString("en")} users on ${engineName} (page size ${PAGE_SIZE}):`)
    const label = (text: string) => `  ${text}:`.padEnd(46)
    console.log(`${label("search, app's query (trigram GIN)")} median ${ms(search.median)}, p95 ${ms(search.p95)}`)
    console.log(`${label("search, same SQL without the index")} median ${ms(searchUnindexed.median)}, p95 ${ms(searchUnindexed.p95)}  -> ${searchSpeedup.toFixed(1)}x`)
    console.log(`${label(`page ${deepPageNumber.toLocaleString("en")}, app's query (keyset by id)`)} median ${ms(deepPage.median)}, p95 ${ms(deepPage.p95)}`)
    console.log(`${label(`page ${deepPageNumber.toLocaleString("en")}, OFFSET ${offset.toLocaleString("en")}`)} median ${ms(deepPageOffset.median)}, p95 ${ms(deepPageOffset.p95)}  -> ${deepSpeedup.toFixed(1)}x`)
    console.log(`${label("org admin (1% of users), first page")} median ${ms(orgFirstPage.median)}, p95 ${ms(orgFirstPage.p95)}`)
    console.log(`${label("org admin (1% of users), search")} median ${ms(orgSearch.median)}, p95 ${ms(orgSearch.p95)}`)
    if (!embedded) {
      const met = search.p95 < TARGET_P95_MS && searchSpeedup >= TARGET_SPEEDUP && deepPage.p95 < TARGET_P95_MS
      console.log(`  target (p95 < ${TARGET_P95_MS} ms, >= ${TARGET_SPEEDUP}x faster than unindexed): ${met ? "met" : "MISSED"}`)
    }
    console.log("")
    const figure = (name: string, value: string) => console.log(`${name}: ${value}`)
    figure("users", String(size))
    figure("engine", engineName)
    figure("seed seconds", seedSeconds.toFixed(1))
    figure("search median ms", search.median.toFixed(2))
    figure("search p95 ms", search.p95.toFixed(2))
    figure("search unindexed median ms", searchUnindexed.median.toFixed(2))
    figure("search unindexed p95 ms", searchUnindexed.p95.toFixed(2))
    figure("search speedup (p95)", `${searchSpeedup.toFixed(1)}x`)
    figure(`deep page ${deepPageNumber} keyset median ms`, deepPage.median.toFixed(2))
    figure(`deep page ${deepPageNumber} keyset p95 ms`, deepPage.p95.toFixed(2))
    figure(`deep page ${deepPageNumber} offset median ms`, deepPageOffset.median.toFixed(2))
    figure(`deep page ${deepPageNumber} offset p95 ms`, deepPageOffset.p95.toFixed(2))
    figure("deep page speedup (p95)", `${deepSpeedup.toFixed(1)}x`)
    figure("org admin first page p95 ms", orgFirstPage.p95.toFixed(2))
    figure("org admin search p95 ms", orgSearch.p95.toFixed(2))
  } finally {
    await db.$disconnect()
    await cleanup()
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error)
  process.exitCode = 1
})

/**
 * `npm run fuzz`: the full fuzz run (issue 9, item 1). Runs test/integration/fuzz.test.ts on the
 * embedded database and, when reachable, on PostgreSQL, with enough bodies per target that each
 * engine gets at least FUZZ_TOTAL (default 10,000) generated bodies, then prints the bodies sent
 * per target and identity, the failures, and `N passed, N failed` (bodies).
 *
 *   npm run fuzz                 # both engines (PostgreSQL skipped, and said so, if unreachable)
 *   npm run fuzz -- --pglite     # one engine: --pglite or --postgres
 *   FUZZ_SEED=123 npm run fuzz   # replay a run; FUZZ_TOTAL=20000 for more
 */
import { spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { postgresReachable } from "test/helpers/postgres"
import { resolverFiles } from "test/helpers/resolvers"

type Count = { identity: string; target: string; sent: number; skipped: number; failed: number }
type Report = { seed: number; runs: number; counts: Count[]; failures: string[]; answers: Record<string, number> }

const IDENTITIES = 4
const API_TARGETS = 4
const total = Number(process.env.FUZZ_TOTAL ?? 10_000)
const targets = (resolverFiles().length + API_TARGETS) * IDENTITIES
const runs = Math.ceil(total / targets)
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
const postgresUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const only = process.argv.includes("--pglite") ? "pglite" : process.argv.includes("--postgres") ? "postgres" : null

function runEngine(engine: "pglite" | "postgres"): { report: Report | null; exitCode: number; seconds: number } {
  const reportFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-")), "report.json")
  const started = Date.now()
  const result = spawnSync(
    "npx",
    ["vitest", "run", "--project", "integration", "test/integration/fuzz.test.ts", "--reporter=dot"],
    {
      stdio: ["ignore", "inherit", "inherit"],
      env: {
        ...process.env,
        TEST_DB_ENGINE: engine,
        TEST_POSTGRES_URL: postgresUrl,
        FUZZ_RUNS: String(runs),
        FUZZ_SEED: String(seed),
        FUZZ_REPORT: reportFile,
      },
    },
  )
  const report = fs.existsSync(reportFile) ? (JSON.parse(fs.readFileSync(reportFile, "utf8")) as Report) : null
  return { report, exitCode: result.status ?? 1, seconds: (Date.now() - started) / 1000 }
}

function printReport(engine: string, report: Report, seconds: number) {
  const byTarget = new Map<string, Record<string, Count>>()
  for (const count of report.counts) {
    const row = byTarget.get(count.target) ?? {}
    row[count.identity] = count
    byTarget.set(count.target, row)
  }
  const identities = ["anonymous", "user", "admin", "impersonating"]
  const width = Math.max(...[...byTarget.keys()].map((name) => name.length))
  console.log(`\n${engine}: bodies sent per target (failed in brackets, valid no-input calls skipped)`)
  console.log(`${"target".padEnd(width)}  ${identities.map((name) => name.padStart(13)).join(" ")}`)
  for (const [target, row] of byTarget) {
    const cells = identities.map((identity) => {
      const count = row[identity]
      if (!count) return "-".padStart(13)
      const text = `${count.sent}${count.failed ? ` [${count.failed}]` : ""}${count.skipped ? ` (${count.skipped}s)` : ""}`
      return text.padStart(13)
    })
    console.log(`${target.padEnd(width)}  ${cells.join(" ")}`)
  }
  const sent = report.counts.reduce((sum, count) => sum + count.sent, 0)
  const failed = report.counts.reduce((sum, count) => sum + count.failed, 0)
  console.log(`${engine}: ${sent} bodies to ${byTarget.size} targets x ${identities.length} identities in ${seconds.toFixed(0)} s (${(sent / seconds).toFixed(0)}/s), seed ${report.seed}`)
  const answers = Object.entries(report.answers ?? {}).sort(([, a], [, b]) => b - a)
  console.log(`${engine}: answers: ${answers.map(([label, n]) => `${label} ${n}`).join(", ")}`)
  for (const failure of report.failures.slice(0, 30)) console.log(`FAILED ${failure}`)
  return { sent, failed }
}

async function main() {
  console.log(
    `Fuzzing: ${runs} bodies per target and identity (${targets / IDENTITIES} targets x ${IDENTITIES} identities, at least ${total} bodies per engine), seed ${seed}`,
  )
  const engines: Array<"pglite" | "postgres"> = []
  if (only !== "postgres") engines.push("pglite")
  if (only !== "pglite") {
    if (await postgresReachable(postgresUrl)) engines.push("postgres")
    else console.log(`PostgreSQL is not reachable at ${postgresUrl}: its run is SKIPPED`)
  }
  let passed = 0
  let failed = 0
  let broken = false
  for (const engine of engines) {
    const { report, exitCode, seconds } = runEngine(engine)
    if (!report) {
      console.log(`${engine}: the fuzz test did not write its report (exit code ${exitCode})`)
      broken = true
      continue
    }
    const figures = printReport(engine, report, seconds)
    passed += figures.sent - figures.failed
    failed += figures.failed
    if (exitCode !== 0 && figures.failed === 0) broken = true
  }
  console.log(`\n${passed} passed, ${failed} failed`)
  process.exit(failed || broken ? 1 : 0)
}

void main()

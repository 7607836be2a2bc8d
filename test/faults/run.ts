import { execFileSync, spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import {
  CheckList,
  HttpBrowser,
  ROOT,
  runCommand,
  signIn,
  sleep,
  startAppServer,
  waitUntilUp,
  type AppServer,
  type RpcAnswer,
} from "test/helpers/httpApp"
import { createScratchDatabase, POSTGRES_ADMIN_URL, postgresReachable } from "test/helpers/postgres"
import { FAULTS_PASSWORD, type Inspection, type People, type Seen } from "./database"

/**
 * `npm run faults` (issue 9, item 3). On each engine, a production server (`node --import tsx
 * server.ts`, so that SIGKILL hits the process holding the database) is killed with kill -9
 * at a random moment of a load of impersonation starts and stops by several admins over HTTP,
 * then restarted on the same data, FAULTS_ROUNDS times. After each kill, a separate process
 * opens the database (on PGlite: taking over the killed server's lock) and compares it with
 * what the clients were answered, and `npm run audit:verify` runs. Then a throwaway PostgreSQL
 * server of its own is stopped (immediate mode) and started again under load. Ports 4100-4199
 * (FAULTS_BASE_PORT); FAULTS_PARTS, FAULTS_ROUNDS, FAULTS_ADMINS narrow or widen it. Prints each check and `N passed, N failed`; exits 1 on a failure.
 */

const BASE_PORT = Number(process.env.FAULTS_BASE_PORT ?? 4100)
const ROUNDS = Number(process.env.FAULTS_ROUNDS ?? 3)
const ADMINS = Number(process.env.FAULTS_ADMINS ?? 6)
/** Which parts run: FAULTS_PARTS=pglite,postgres,restart (the default, all three). */
const PARTS = new Set((process.env.FAULTS_PARTS ?? "pglite,postgres,restart").split(",").map((p) => p.trim()))
const TTL_SECONDS = 5 // the smallest time limit the app accepts: live impersonations expire soon after a kill
const DATABASE_UNREACHABLE_MESSAGE = "The database is not reachable; try again in a moment"

const list = new CheckList()
const check = list.check.bind(list)

type Me = { id: number; impersonator: { id: number } | null } | null
type StartResult = { impersonationId: number }
type StopResult = { status: string }

/** A browser of one admin: what it was told (its live impersonation, if any). */
type Admin = { id: number; email: string; subjectId: number; browser: HttpBrowser; impersonationId: number | null; uncertain: boolean }

function baseEnv(scratch: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SESSION_SECRET_KEY: "faults-session-secret-that-is-long-enough-0123456789",
    AUDIT_HMAC_KEY: "faults-audit-hmac-key-that-is-long-enough-0123456789",
    AUDIT_CHECKPOINT_FILE: path.join(scratch, "audit-checkpoints.jsonl"),
    IMPERSONATION_TTL_SECONDS: String(TTL_SECONDS),
    NEXT_TELEMETRY_DISABLED: "1",
    DEMO_MODE: "",
    LOG_LEVEL: "info",
  }
  delete env.DATABASE_URL
  delete env.PGLITE_DATA_DIR
  return env
}

const isAuthFailure = (answer: RpcAnswer<unknown>) =>
  answer.status === 401 || answer.error?.name === "AuthenticationError" || answer.error?.statusCode === 401

/**
 * One admin's load: start, read as the user, stop, over and over until the server goes away.
 * Only answers that arrived count as seen; a request cut by the kill leaves the state uncertain.
 */
async function driveAdmin(admin: Admin, seen: Seen, serverErrors: string[], origin: string) {
  try {
    for (;;) {
      if (admin.impersonationId === null) {
        const started = await admin.browser.rpc<StartResult>("impersonateUser", { userId: admin.subjectId, reason: `Ticket 9: faults ${admin.id}` })
        if (started.result) {
          seen.started.push(started.result.impersonationId)
          admin.impersonationId = started.result.impersonationId
        } else if (isAuthFailure(started)) {
          admin.browser = await signIn(origin, admin.email, FAULTS_PASSWORD)
        } else if (started.status >= 500 || (started.error?.statusCode ?? 0) >= 500) {
          serverErrors.push(`start: HTTP ${started.status} ${started.error?.message}`)
        }
        continue
      }
      await admin.browser.rpc<Me>("getCurrentUser")
      const stopped = await admin.browser.rpc<StopResult>("stopImpersonating", {})
      if (stopped.result?.status === "RESTORED") seen.stopped.push(admin.impersonationId)
      else if (stopped.status >= 500 || (stopped.error?.statusCode ?? 0) >= 500) serverErrors.push(`stop: HTTP ${stopped.status} ${stopped.error?.message}`)
      if (isAuthFailure(stopped)) admin.browser = await signIn(origin, admin.email, FAULTS_PASSWORD)
      admin.impersonationId = null
    }
  } catch {
    admin.uncertain = true // the server went away mid-request
  }
}

async function inspectDatabase(env: NodeJS.ProcessEnv, seen: Seen, scratch: string): Promise<Inspection> {
  const seenFile = path.join(scratch, "seen.json")
  fs.writeFileSync(seenFile, JSON.stringify(seen))
  const result = await runCommand(process.execPath, ["--import", "tsx", "test/faults/database.ts", "inspect", seenFile], env)
  if (result.code !== 0) throw new Error(`the database did not open after the kill:\n${result.out.slice(-2000)}`)
  return JSON.parse(result.out.trim().split("\n").pop()!) as Inspection
}

const ids = (values: number[]) => (values.length ? values.slice(0, 8).join(", ") + (values.length > 8 ? ", ..." : "") : "none")

/** kill -9 during load, restart on the same data, ROUNDS times, on one engine. */
async function killRounds(label: string, env: NodeJS.ProcessEnv, port: number, scratch: string, lockFile: string | null) {
  console.log(`\n--- kill -9 under load: ${label}, ${ROUNDS} rounds, ${ADMINS} admins`)
  if (env.DATABASE_URL) {
    const migrated = await runCommand(process.execPath, ["--import", "tsx", "db/migrate.ts"], env)
    if (migrated.code !== 0) throw new Error(`migrations failed:\n${migrated.out.slice(-2000)}`)
  }
  const peopleFile = path.join(scratch, "people.json")
  const seeded = await runCommand(process.execPath, ["--import", "tsx", "test/faults/database.ts", "seed", peopleFile, String(ADMINS)], env)
  if (seeded.code !== 0) throw new Error(`seeding failed:\n${seeded.out.slice(-2000)}`)
  const people = JSON.parse(fs.readFileSync(peopleFile, "utf8")) as People

  let server: AppServer = startAppServer(port, env, { node: true })
  await waitUntilUp(server.origin, server.child, server.log)
  const admins: Admin[] = await Promise.all(
    people.admins.map(async (a, i) => ({
      ...a,
      subjectId: people.subjects[i]!.id,
      browser: await signIn(server.origin, a.email, FAULTS_PASSWORD),
      impersonationId: null,
      uncertain: false,
    })),
  )
  const seen: Seen = { started: [], stopped: [], mustBeEnded: [] }
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const serverErrors: string[] = []
      const startedBefore = seen.started.length
      const stoppedBefore = seen.stopped.length
      const killAfterMs = Math.round(600 + Math.random() * 2400)
      const loads = admins.map((admin) => driveAdmin(admin, seen, serverErrors, server.origin))
      await sleep(killAfterMs)
      const killedPid = server.child.pid!
      process.kill(killedPid, "SIGKILL")
      await server.exited
      await Promise.all(loads)
      const staleLock = lockFile && fs.existsSync(lockFile) ? (JSON.parse(fs.readFileSync(lockFile, "utf8")) as { pid: number }) : null
      console.log(
        `round ${round}: killed pid ${killedPid} after ${killAfterMs} ms (signal ${server.child.signalCode}); ` +
          `${seen.started.length - startedBefore} starts and ${seen.stopped.length - stoppedBefore} stops answered OK, ` +
          `${admins.filter((a) => a.uncertain).length} requests cut${lockFile ? `; lock file left by pid ${staleLock?.pid ?? "none"}` : ""}`,
      )
      check(`${label} round ${round}: no 5xx answer before the kill`, serverErrors.length === 0, serverErrors.slice(0, 3).join("; "))

      const opened = Date.now()
      const found = await inspectDatabase(env, seen, scratch)
      if (lockFile) {
        check(
          `${label} round ${round}: the data folder opens again without manual steps (stale lock of the killed pid taken over, WAL recovered)`,
          staleLock?.pid === killedPid && !fs.existsSync(lockFile),
          `lock held by killed pid ${staleLock?.pid}; opened, inspected and closed in ${Date.now() - opened} ms`,
        )
      }
      check(
        `${label} round ${round}: every start and stop answered OK before the kill has its audit event`,
        found.startsWithoutEvent.length === 0 && found.stopsWithoutEvent.length === 0 && found.rowsWithWrongEvents.length === 0,
        `${seen.started.length} starts and ${seen.stopped.length} stops seen by clients so far, ${found.impersonations} impersonations on record; ` +
          `missing start events: ${ids(found.startsWithoutEvent)}; missing stop events: ${ids(found.stopsWithoutEvent)}; rows without exactly one start/end event: ${ids(found.rowsWithWrongEvents)}`,
      )
      const stoppedWithSession = found.endedWithSession.filter((e) => e.endReason === "STOPPED")
      check(
        `${label} round ${round}: no impersonation both ended and live`,
        stoppedWithSession.length === 0 && found.actorsWithTwoLive.length === 0 && found.beyondLimit.length === 0,
        `${found.live.length} live at the kill; stopped but a session still linked: ${ids(stoppedWithSession.map((e) => e.id))}; ` +
          `ended otherwise, link kept until that session's next request: ${found.endedWithSession.filter((e) => e.endReason !== "STOPPED").map((e) => `#${e.id} ${e.endReason}`).join(", ") || "none"}; ` +
          `admins with two live: ${ids(found.actorsWithTwoLive)}; live past start + ${TTL_SECONDS} s: ${ids(found.beyondLimit)}`,
      )
      if (round > 1) {
        check(
          `${label} round ${round}: the impersonations live at the previous kill were ended at the next request after their limit`,
          found.notEndedAtNextRequest.length === 0,
          `${seen.mustBeEnded.length} checked; not ended as EXPIRED: ${ids(found.notEndedAtNextRequest)}`,
        )
      }
      const verify = await runCommand("npm", ["run", "--silent", "audit:verify"], env)
      check(`${label} round ${round}: npm run audit:verify passes`, verify.code === 0, verify.out.trim().split("\n").pop() ?? "")

      // Restart on the same data; then, past the limit of what was live, each browser's next request.
      const restarting = Date.now()
      server = startAppServer(port, env, { node: true })
      await waitUntilUp(server.origin, server.child, server.log)
      const restartMs = Date.now() - restarting
      const latestLimit = Math.max(0, ...found.live.map((l) => Date.parse(l.expiresAt)))
      await sleep(Math.max(0, latestLimit + 300 - Date.now()))
      const problems: string[] = []
      for (const admin of admins) {
        const me = await admin.browser.rpc<Me>("getCurrentUser")
        if (me.status >= 500 || (me.error?.statusCode ?? 0) >= 500) problems.push(`admin #${admin.id}: HTTP ${me.status} ${me.error?.message}`)
        else if (me.result && (me.result.id !== admin.id || me.result.impersonator !== null)) {
          problems.push(`admin #${admin.id}'s browser is still user #${me.result.id} impersonated by #${me.result.impersonator?.id}`)
        }
        if (!me.result) admin.browser = await signIn(server.origin, admin.email, FAULTS_PASSWORD)
        admin.impersonationId = null
        admin.uncertain = false
      }
      seen.mustBeEnded = found.live.map((l) => l.id)
      check(
        `${label} round ${round}: restarted on the same data; every browser's next request after the limit is its admin again`,
        problems.length === 0,
        `up in ${restartMs} ms; ${found.live.length} were live at the kill${problems.length ? `; ${problems.slice(0, 3).join("; ")}` : ""}`,
      )
    }
    // One more cycle each on the last restart, then a clean stop and a last look.
    const serverErrors: string[] = []
    for (const admin of admins) {
      const s = await admin.browser.rpc<StartResult>("impersonateUser", { userId: admin.subjectId, reason: "Ticket 9: faults, after" })
      if (s.result) seen.started.push(s.result.impersonationId)
      const t = await admin.browser.rpc<StopResult>("stopImpersonating", {})
      if (s.result && t.result?.status === "RESTORED") seen.stopped.push(s.result.impersonationId)
      else serverErrors.push(`admin #${admin.id}: start ${s.error?.message ?? "ok"}, stop ${t.error?.message ?? t.result?.status}`)
    }
    server.child.kill("SIGTERM")
    await server.exited
    const last = await inspectDatabase(env, seen, scratch)
    check(
      `${label}: after the last restart, a start and stop per admin work and nothing is left live`,
      serverErrors.length === 0 && last.live.length === 0 && last.notEndedAtNextRequest.length === 0 &&
        !last.endedWithSession.some((e) => e.endReason === "STOPPED") &&
        last.startsWithoutEvent.length === 0 && last.stopsWithoutEvent.length === 0 && last.rowsWithWrongEvents.length === 0,
      `${last.impersonations} impersonations, ${last.events} audit events, ${last.live.length} live, ` +
        `${last.endedWithSession.length} ended with the link of a session no browser received kept${serverErrors.length ? `; ${serverErrors.slice(0, 2).join("; ")}` : ""}`,
    )
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill("SIGKILL")
      await server.exited
    }
  }
}

/** The PostgreSQL server programs (initdb, pg_ctl), or null. */
function postgresBinaries(): string | null {
  const candidates: string[] = []
  try {
    candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim())
  } catch {
    // no pg_config on PATH
  }
  const lib = "/usr/lib/postgresql"
  if (fs.existsSync(lib)) {
    for (const version of fs.readdirSync(lib).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(lib, version, "bin"))
  }
  return candidates.find((dir) => fs.existsSync(path.join(dir, "initdb")) && fs.existsSync(path.join(dir, "pg_ctl"))) ?? null
}

/** A PostgreSQL server of this run's own, in a temporary folder (as the postgres user when root). */
function throwawayPostgres(bindir: string, port: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faults-pg-"))
  const asRoot = process.getuid?.() === 0
  const run = (program: string, args: string[]) => {
    const [command, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bindir, program), ...args]] : [path.join(bindir, program), args]
    const result = spawnSync(command, argv as string[], { encoding: "utf8" })
    if (result.status !== 0) throw new Error(`${program} ${args.join(" ")} failed: ${result.stderr || result.stdout}`)
  }
  if (asRoot) execFileSync("chown", ["postgres", dir])
  const data = path.join(dir, "data")
  const pgCtl = (...args: string[]) => run("pg_ctl", ["-D", data, ...args])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    init: () => run("initdb", ["-D", data, "-A", "trust", "-U", "postgres"]),
    start: () => pgCtl("-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "-l", path.join(dir, "log"), "-w", "start"),
    stopImmediately: () => pgCtl("-m", "immediate", "-w", "stop"),
    remove() {
      try {
        pgCtl("-m", "immediate", "-w", "stop")
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

type Answer = { rpc: string; phase: "before" | "down" | "after"; at: number; status: number; json: boolean; name: string | null; message: string | null; ok: boolean }

/** A PostgreSQL server restart (immediate stop, start) under load, the app left running. */
async function postgresRestart(port: number, pgPort: number, scratch: string) {
  console.log("\n--- PostgreSQL server restart under load")
  const bindir = postgresBinaries()
  if (!bindir) {
    console.log("SKIP  PostgreSQL restart: no initdb/pg_ctl found (pg_config --bindir, /usr/lib/postgresql/*/bin); install postgresql to run it")
    return
  }
  const pg = throwawayPostgres(bindir, pgPort)
  let server: AppServer | null = null
  try {
    pg.init()
    pg.start()
    const env = { ...baseEnv(scratch), DATABASE_URL: pg.url }
    const migrated = await runCommand(process.execPath, ["--import", "tsx", "db/migrate.ts"], env)
    if (migrated.code !== 0) throw new Error(`migrations failed:\n${migrated.out.slice(-2000)}`)
    const peopleFile = path.join(scratch, "people-restart.json")
    const seeded = await runCommand(process.execPath, ["--import", "tsx", "test/faults/database.ts", "seed", peopleFile, "4"], env)
    if (seeded.code !== 0) throw new Error(`seeding failed:\n${seeded.out.slice(-2000)}`)
    const people = JSON.parse(fs.readFileSync(peopleFile, "utf8")) as People
    server = startAppServer(port, env, { node: true })
    await waitUntilUp(server.origin, server.child, server.log)
    const origin = server.origin
    const admins = await Promise.all(people.admins.map(async (a, i) => ({ ...a, subjectId: people.subjects[i]!.id, browser: await signIn(origin, a.email, FAULTS_PASSWORD) })))

    let phase: Answer["phase"] = "before"
    const answers: Answer[] = []
    const seen: Seen = { started: [], stopped: [], mustBeEnded: [] }
    let halted = false
    const record = <T>(rpc: string, answer: RpcAnswer<T>) => {
      answers.push({
        rpc,
        phase,
        at: Date.now(),
        status: answer.status,
        json: !answer.text.trimStart().startsWith("<") && !answer.error?.message.startsWith("not JSON"),
        name: answer.error?.name ?? null,
        message: answer.error?.message ?? null,
        ok: answer.status === 200 && !answer.error,
      })
      return answer
    }
    // A browser whose request was cut by the outage between a commit and its session change
    // (a start or stop) is signed out: counted, and signed in again.
    const signedOut: string[] = []
    let downAt = 0
    const loads = admins.map(async (admin) => {
      let impersonationId: number | null = null
      const history: string[] = [] // this browser's last calls, for a sign-out's report
      const note = (rpc: string, answer: RpcAnswer<unknown>, what: string) =>
        history.push(`${rpc} ${answer.status} ${answer.error?.name ?? what} (${phase}${downAt ? `, ${Date.now() - downAt} ms after the stop` : ""})`)
      while (!halted) {
        try {
          const me = record("getCurrentUser", await admin.browser.rpc<Me>("getCurrentUser"))
          note("getCurrentUser", me, me.result ? `#${me.result.id}${me.result.impersonator ? ` by #${me.result.impersonator.id}` : ""}` : "nobody")
          if (isAuthFailure(me) || (me.status === 200 && !me.error && me.result === null)) {
            signedOut.push(`admin #${admin.id}: ${history.slice(-5).join(" > ")}`)
            const again = await admin.browser.rpc("login", { email: admin.email, password: FAULTS_PASSWORD })
            if (again.error) throw new Error(again.error.message)
            impersonationId = null
          }
          if (impersonationId === null) {
            const s = record("impersonateUser", await admin.browser.rpc<StartResult>("impersonateUser", { userId: admin.subjectId, reason: "Ticket 9: restart" }))
            if (s.result) seen.started.push((impersonationId = s.result.impersonationId))
            note("impersonateUser", s, s.result ? `#${s.result.impersonationId}` : "")
          } else {
            const t = record("stopImpersonating", await admin.browser.rpc<StopResult>("stopImpersonating", {}))
            if (t.result?.status === "RESTORED") seen.stopped.push(impersonationId)
            if (t.result) impersonationId = null
            note("stopImpersonating", t, t.result?.status ?? "")
          }
        } catch (error) {
          if (!(error instanceof Error && /fetch failed|ECONNRESET|socket/i.test(error.message + String(error.cause)))) {
            // a sign-in refused while the database is down: tried again on the next pass
          } else {
            answers.push({ rpc: "?", phase, at: Date.now(), status: 0, json: false, name: "no answer", message: String(error), ok: false })
          }
        }
        await sleep(40)
      }
    })
    await sleep(1500)
    const logBefore = server.log().length
    phase = "down"
    pg.stopImmediately()
    downAt = Date.now()
    await sleep(3000)
    pg.start()
    const upAt = Date.now()
    phase = "after"
    // Recovered when every admin's browser has had a successful answer after the restart.
    const deadline = upAt + 20_000
    const recovered = () => answers.filter((a) => a.phase === "after" && a.ok).length >= admins.length * 2
    while (!recovered() && Date.now() < deadline) await sleep(100)
    const firstOk = answers.find((a) => a.phase === "after" && a.ok)
    await sleep(500)
    halted = true
    await Promise.all(loads)
    const logDown = server.log().slice(logBefore)

    const down = answers.filter((a) => a.phase === "down")
    // While down and while the pool finds its dead connections after the restart.
    const refused = answers.filter((a) => a.phase !== "before" && !a.ok)
    const tally = new Map<string, number>()
    for (const a of refused) tally.set(`${a.status} ${a.name}`, (tally.get(`${a.status} ${a.name}`) ?? 0) + 1)
    const unavailable = refused.filter((a) => a.status === 503)
    // Besides 503s, only clear JSON refusals (4xx; Blitz sends a resolver's as HTTP 200) may appear.
    const bad = refused.filter((a) =>
      a.status === 503
        ? !a.json || a.name !== "DatabaseUnavailableError" || a.message !== DATABASE_UNREACHABLE_MESSAGE
        : !a.json || a.status === 0 || a.status >= 500 || a.name === "InternalServerError",
    )
    check(
      "PostgreSQL down: failed answers are HTTP 503 JSON errors saying the database is not reachable (no 500, no HTML, no dropped connection)",
      unavailable.length > 0 && bad.length === 0,
      `${down.length} answers in ${((upAt - downAt) / 1000).toFixed(1)} s down; failed while down or recovering: ${[...tally].map(([k, n]) => `${n} x ${k}`).join(", ")}` +
        `; ${signedOut.length} browser(s) signed out by a request the outage cut` +
        (bad.length ? `; e.g. ${bad.slice(0, 3).map((a) => `${a.rpc} ${a.at - downAt} ms after the stop: ${a.status} ${a.name}: ${a.message?.slice(0, 80)}`).join("; ")}` : ""),
    )
    for (const line of signedOut) console.log(`      signed out: ${line}`)
    const stackLines = logDown.split("\n").filter((line) => /"stack"|\n\s+at |^\s+at /.test(line))
    const dbLines = logDown.split("\n").filter((line) => line.includes(DATABASE_UNREACHABLE_MESSAGE))
    check(
      "PostgreSQL down: the server log has no stack trace, one line per refused request",
      stackLines.length === 0 && dbLines.length <= refused.length + 2,
      `${logDown.split("\n").filter(Boolean).length} log lines while down and recovering, ${dbLines.length} "not reachable" lines for ${refused.length} refused requests, ${stackLines.length} with a stack` +
        (stackLines.length ? `: ${stackLines[0]!.slice(0, 200)}` : ""),
    )
    const afterAnswers = answers.filter((a) => a.phase === "after")
    const lastFailure = afterAnswers.filter((a) => !a.ok).at(-1)
    check(
      "PostgreSQL back: requests succeed again by themselves, the app not restarted",
      recovered() && server.child.exitCode === null && server.child.signalCode === null,
      firstOk
        ? `first success ${firstOk.at - upAt} ms after the server was up, last failure ${lastFailure ? `${lastFailure.at - upAt} ms` : "none"}; ${afterAnswers.filter((a) => a.ok).length}/${afterAnswers.length} OK after`
        : `no success within 20 s; last: ${lastFailure?.status} ${lastFailure?.message}`,
    )
    // Pages (server components) while it is down: reported, not checked (the load is RPC).
    pg.stopImmediately()
    const pageLogBefore = server.log().length
    const cookie = [...admins[0]!.browser.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    const pages: string[] = []
    for (const page of ["/login", "/"]) {
      const res = await fetch(`${origin}${page}`, { headers: page === "/" ? { cookie } : {}, redirect: "manual" })
      await res.text()
      pages.push(`${page} ${res.status} ${res.headers.get("content-type")?.split(";")[0]}`)
    }
    const pageStacks = server.log().slice(pageLogBefore).split("\n").filter((line) => line.includes('"stack"')).length
    pg.start()
    check(
      "PostgreSQL down: a page that needs the database logs no stack trace either",
      pageStacks === 0,
      `${pages.join(", ")} (a page answers with Next's error page); ${pageStacks} log line(s) with a stack`,
    )
    const found = await inspectDatabase(env, seen, scratch)
    const verify = await runCommand("npm", ["run", "--silent", "audit:verify"], env)
    check(
      "PostgreSQL back: every start and stop answered OK has its audit event and audit:verify passes",
      found.startsWithoutEvent.length === 0 && found.stopsWithoutEvent.length === 0 && found.rowsWithWrongEvents.length === 0 &&
        !found.endedWithSession.some((e) => e.endReason === "STOPPED") && found.actorsWithTwoLive.length === 0 && verify.code === 0,
      `${seen.started.length} starts and ${seen.stopped.length} stops seen; ${verify.out.trim().split("\n").pop()}`,
    )
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill("SIGTERM")
      await server.exited
    }
    pg.remove()
  }
}

async function main() {
  const started = Date.now()
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    console.log("No build in .next: running `npm run build` first (a few minutes)")
    const build = await runCommand("npm", ["run", "build"], { ...process.env, NEXT_TELEMETRY_DISABLED: "1" })
    if (build.code !== 0) throw new Error(`the build failed:\n${build.out.slice(-3000)}`)
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "faults-"))
  try {
    // 1. The embedded database, its data folder on disk.
    const dataDir = path.join(scratch, "pglite")
    if (PARTS.has("pglite")) await killRounds("PGlite", { ...baseEnv(scratch), PGLITE_DATA_DIR: dataDir }, BASE_PORT, scratch, `${dataDir}.lock`)

    // 2. A PostgreSQL server: a scratch database on TEST_POSTGRES_URL.
    if (!PARTS.has("postgres")) {
      // not asked for
    } else if (await postgresReachable()) {
      const database = await createScratchDatabase("faults")
      try {
        const pgScratch = fs.mkdtempSync(path.join(scratch, "pg-"))
        await killRounds("PostgreSQL", { ...baseEnv(pgScratch), DATABASE_URL: database.url }, BASE_PORT + 1, pgScratch, null)
      } finally {
        await database.drop()
      }
    } else {
      console.log(`\nSKIP  kill -9 on PostgreSQL: nothing reachable at ${POSTGRES_ADMIN_URL} (set TEST_POSTGRES_URL)`)
    }

    // 3. A PostgreSQL server of its own, restarted under load.
    if (PARTS.has("restart")) await postgresRestart(BASE_PORT + 2, BASE_PORT + 50, fs.mkdtempSync(path.join(scratch, "restart-")))
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
  console.log(`\n${list.summary()} (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  process.exitCode = list.failed ? 1 : 0
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  console.log(`\n${list.summary(1)}`)
  process.exitCode = 1
})

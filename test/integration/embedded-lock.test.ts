import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { EmbeddedDatabaseInUseError, closeEmbedded, openEmbedded, processStartOf, takeOverStaleLock } from "db/engine"

/**
 * The embedded engine allows one process per data folder (DESIGN.md, Storage engines): a second
 * process must fail with a clear message and never corrupt data. Only meaningful on PGlite.
 */

const TSX = path.join(process.cwd(), "node_modules", ".bin", "tsx")
const HOLDER = path.join(process.cwd(), "test", "integration", "fixtures", "hold-embedded.ts")
const ROWS = 25

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-lock-"))
const children: ChildProcessWithoutNullStreams[] = []
const opened: string[] = []

type Holder = { child: ChildProcessWithoutNullStreams; pid: number; output: () => string }

/** Starts the child that holds `dataDir`; resolves once it has written its rows. */
function startHolder(dataDir: string): Promise<Holder> {
  const child = spawn(TSX, [HOLDER, dataDir, String(ROWS)], {
    cwd: process.cwd(),
    env: process.env,
  })
  children.push(child)
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const output = () => `stdout: ${stdout}\nstderr: ${stderr}`
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holder never got ready\n${output()}`)), 60_000)
    child.stdout.on("data", () => {
      const match = /ready (\d+)/.exec(stdout)
      if (!match) return
      clearTimeout(timer)
      resolve({ child, pid: Number(match[1]), output })
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`holder exited early with ${code}\n${output()}`))
    })
  })
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)))
}

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""])
  const pid = child.pid!
  await new Promise((resolve) => child.once("exit", resolve))
  return pid
}

async function open(dataDir: string) {
  opened.push(dataDir)
  // Whether the refusal is thrown or returned as a rejection, it must reach the caller.
  return (async () => openEmbedded(dataDir))()
}

function readLock(dataDir: string) {
  return JSON.parse(fs.readFileSync(`${dataDir}.lock`, "utf8")) as { pid: number; host: string }
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  for (const dir of opened.splice(0)) await closeEmbedded(dir)
})

afterAll(() => {
  fs.rmSync(tmpRoot, { recursive: true, force: true })
})

describe.skipIf(process.env.TEST_DB_ENGINE === "postgres")("embedded database folder lock", () => {
  it("refuses a second process while one holds the folder, and loses no rows", async () => {
    const dataDir = path.join(tmpRoot, "held")
    const holder = await startHolder(dataDir)
    expect(holder.pid).not.toBe(process.pid)
    expect(readLock(dataDir)).toMatchObject({ pid: holder.pid, host: os.hostname() })

    const refusal = await open(dataDir).then(
      () => null,
      (error: unknown) => error,
    )
    expect(refusal).toBeInstanceOf(EmbeddedDatabaseInUseError)
    expect((refusal as Error).name).toBe("EmbeddedDatabaseInUseError")
    expect((refusal as Error).message).toContain(`in use by process ${holder.pid}`)
    expect((refusal as Error).message).toContain(dataDir)
    // The refused attempt must leave the holder's lock alone.
    expect(readLock(dataDir).pid).toBe(holder.pid)

    holder.child.stdin.end()
    expect(await exitOf(holder.child), holder.output()).toBe(0)
    expect(holder.output()).toContain("closed")
    expect(fs.existsSync(`${dataDir}.lock`)).toBe(false)

    const pg = await open(dataDir)
    expect(readLock(dataDir).pid).toBe(process.pid)
    const { rows } = await pg.query<{ value: string }>(
      'SELECT "value" FROM "LockProbe" ORDER BY "id"',
    )
    expect(rows.map((row) => row.value)).toEqual(Array.from({ length: ROWS }, (_, i) => `row-${i}`))
    const migrations = await pg.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM "_prisma_migrations"',
    )
    expect(migrations.rows[0]?.n).toBeGreaterThan(0)

    await closeEmbedded(dataDir)
    expect(fs.existsSync(`${dataDir}.lock`)).toBe(false)
  })

  it("never takes over a lock written on another host (a shared volume)", async () => {
    const dataDir = path.join(tmpRoot, "other-host")
    const lock = { pid: 1, command: "next start", startedAt: new Date(0).toISOString(), host: "elsewhere" }
    fs.writeFileSync(`${dataDir}.lock`, JSON.stringify(lock))
    await expect(open(dataDir)).rejects.toThrow(/locked by process 1 on host "elsewhere"/)
    expect(readLock(dataDir)).toEqual(lock)
  })

  it("a takeover never deletes a lock that another process took in the meantime", () => {
    const lockPath = path.join(tmpRoot, "race.lock")
    const stale = { pid: 1, command: "crashed", startedAt: new Date(0).toISOString(), host: os.hostname() }
    const fresh = { ...stale, pid: process.pid, command: "newer", startedAt: new Date().toISOString() }
    // This process read `stale`, but by the time it acts another process has replaced it.
    fs.writeFileSync(lockPath, JSON.stringify(fresh))
    takeOverStaleLock(lockPath, stale)
    expect(JSON.parse(fs.readFileSync(lockPath, "utf8"))).toEqual(fresh)
    // And the stale lock it did read is removed.
    fs.writeFileSync(lockPath, JSON.stringify(stale))
    takeOverStaleLock(lockPath, stale)
    expect(fs.existsSync(lockPath)).toBe(false)
  })

  it("takes over a stale lock left by a process that died", async () => {
    const dataDir = path.join(tmpRoot, "stale")
    const pid = await deadPid()
    fs.writeFileSync(
      `${dataDir}.lock`,
      JSON.stringify({
        pid,
        command: "crashed",
        startedAt: new Date(0).toISOString(),
        host: os.hostname(),
      }),
    )

    const pg = await open(dataDir)
    expect(readLock(dataDir).pid).toBe(process.pid)
    const { rows } = await pg.query<{ one: number }>("SELECT 1 AS one")
    expect(rows).toEqual([{ one: 1 }])

    await closeEmbedded(dataDir)
    expect(fs.existsSync(`${dataDir}.lock`)).toBe(false)
  })

  // Found by npm run faults' reasoning on kill -9: after a restart (a container's), the dead
  // holder's pid may belong to another process; the pid's start time tells them apart.
  it.skipIf(processStartOf(process.pid) === null)("takes over a lock whose pid now belongs to another process", async () => {
    const dataDir = path.join(tmpRoot, "reused-pid")
    const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"])
    children.push(other as ChildProcessWithoutNullStreams)
    const pid = other.pid!
    const lock = { pid, command: "killed server", startedAt: new Date(0).toISOString(), host: os.hostname() }
    fs.writeFileSync(`${dataDir}.lock`, JSON.stringify({ ...lock, processStart: "1" }))

    await open(dataDir)
    expect(readLock(dataDir).pid).toBe(process.pid)
    await closeEmbedded(dataDir)

    // The same live process, with its real start time: still refused.
    fs.writeFileSync(`${dataDir}.lock`, JSON.stringify({ ...lock, processStart: processStartOf(pid) }))
    await expect(open(dataDir)).rejects.toThrow(`in use by process ${pid}`)
    fs.rmSync(`${dataDir}.lock`)
  })
})

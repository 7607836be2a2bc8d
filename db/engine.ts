import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import type { PGlite } from "@electric-sql/pglite"

/** Which database the process talks to, decided once from the environment. */
export type Engine =
  | { kind: "postgres"; url: string }
  | { kind: "pglite"; dataDir: string } // "memory://" for a throwaway in-memory database

export const DEFAULT_PGLITE_DIR = path.join(process.cwd(), ".data", "pglite")

export function engineFromEnv(env: Record<string, string | undefined> = process.env): Engine {
  const url = env.DATABASE_URL?.trim()
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new Error(
        `DATABASE_URL must be a postgres:// or postgresql:// URL (got "${url.slice(0, 40)}"). ` +
          "Unset it to use the embedded database.",
      )
    }
    return { kind: "postgres", url }
  }
  return { kind: "pglite", dataDir: env.PGLITE_DATA_DIR?.trim() || DEFAULT_PGLITE_DIR }
}

/** Connections the app keeps to a PostgreSQL server (DATABASE_POOL_SIZE, default 10). */
export function poolSizeFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env.DATABASE_POOL_SIZE?.trim()
  if (!raw) return 10
  const size = Number(raw)
  if (!/^\d+$/.test(raw) || size < 1 || size > 200) {
    throw new Error(`DATABASE_POOL_SIZE must be a whole number from 1 to 200 (got "${raw.slice(0, 20)}")`)
  }
  return size
}

export function describeEngine(engine: Engine): string {
  if (engine.kind === "postgres") return `PostgreSQL server (${new URL(engine.url).host})`
  return engine.dataDir === "memory://"
    ? "embedded PostgreSQL (PGlite, in memory)"
    : `embedded PostgreSQL (PGlite, ${path.relative(process.cwd(), engine.dataDir) || "."})`
}

export class EmbeddedDatabaseInUseError extends Error {
  name = "EmbeddedDatabaseInUseError"
}

/** `processStart`: the kernel's start time of the holder's pid (Linux), to tell a reused pid. */
export type LockHolder = { pid: number; command: string; startedAt: string; host: string; processStart?: string }

/** When the process `pid` started, in clock ticks since boot (Linux /proc), or null elsewhere. */
export function processStartOf(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name, which is in parentheses and may hold spaces: starttime is field 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null
  } catch {
    return null
  }
}

/**
 * Whether the lock's holder still runs. A pid alone is not enough: after a kill -9 and a
 * restart (a container's, say), another process may have the holder's pid.
 */
function isAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false
  }
  const start = holder.processStart && processStartOf(holder.pid)
  return !start || start === holder.processStart
}

/**
 * PGlite allows one process per data folder: two writers silently lose rows. The lock file
 * beside the folder names its holder; a stale one (dead process) is taken over.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`
  fs.mkdirSync(path.dirname(lockPath), { recursive: true })
  const me: LockHolder = {
    pid: process.pid,
    command: process.argv.slice(1).join(" ").slice(0, 200),
    startedAt: new Date().toISOString(),
    host: os.hostname(),
    ...(processStartOf(process.pid) ? { processStart: processStartOf(process.pid)! } : {}),
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(me), { flag: "wx" })
      const release = () => {
        try {
          const holder = JSON.parse(fs.readFileSync(lockPath, "utf8")) as LockHolder
          if (holder.pid === process.pid) fs.unlinkSync(lockPath)
        } catch {
          // already gone
        }
      }
      process.once("exit", release)
      return release
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    let holder: LockHolder | null = null
    try {
      holder = JSON.parse(fs.readFileSync(lockPath, "utf8")) as LockHolder
    } catch {
      holder = null // half-written or vanished: treat as stale
    }
    if (holder && holder.host !== me.host) {
      // A process on another machine (a shared volume) cannot be checked for liveness.
      throw new EmbeddedDatabaseInUseError(
        `The embedded database in ${dataDir} is locked by process ${holder.pid} on host ` +
          `"${holder.host}" ("${holder.command}", since ${holder.startedAt}). If that process is ` +
          `gone, delete ${lockPath}; or set DATABASE_URL to use a PostgreSQL server.`,
      )
    }
    if (holder && holder.pid !== process.pid && isAlive(holder)) {
      throw new EmbeddedDatabaseInUseError(
        `The embedded database in ${dataDir} is in use by process ${holder.pid} ` +
          `("${holder.command}", since ${holder.startedAt}). Only one process may open it at a ` +
          "time: stop that process first, or set DATABASE_URL to use a PostgreSQL server.",
      )
    }
    takeOverStaleLock(lockPath, holder)
  }
  throw new EmbeddedDatabaseInUseError(`Could not take the lock ${lockPath}; try again.`)
}

type OpenDatabase = { pg: Promise<PGlite>; release: () => void }
/**
 * Removes a stale lock without a window in which a lock just taken by another process could be
 * deleted: the file is moved aside atomically, and put back if it turns out not to be the stale
 * one this process looked at.
 */
export function takeOverStaleLock(lockPath: string, stale: LockHolder | null) {
  const aside = `${lockPath}.stale-${process.pid}`
  try {
    fs.renameSync(lockPath, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return // someone else took it over
    throw error
  }
  let moved: LockHolder | null = null
  try {
    moved = JSON.parse(fs.readFileSync(aside, "utf8")) as LockHolder
  } catch {
    moved = null
  }
  const same = stale === null ? moved === null : moved?.pid === stale.pid && moved.startedAt === stale.startedAt
  if (!same) {
    try {
      fs.linkSync(aside, lockPath) // restore the fresh lock unless yet another one appeared
    } catch {
      // a lock exists again; the next attempt reads it
    }
  }
  fs.rmSync(aside, { force: true })
}

const opened = ((globalThis as { __pgliteByDir?: Map<string, OpenDatabase> }).__pgliteByDir ??=
  new Map())

/** Opens (once per process) the embedded database, migrated to the latest schema. */
export function openEmbedded(dataDir: string): Promise<PGlite> {
  const existing = opened.get(dataDir)
  if (existing) return existing.pg
  let release: () => void
  try {
    release = dataDir === "memory://" ? () => {} : acquireDataDirLock(dataDir)
  } catch (error) {
    return Promise.reject(error)
  }
  const pg = (async () => {
    const { PGlite } = await import("@electric-sql/pglite")
    const { pg_trgm } = await import("@electric-sql/pglite/contrib/pg_trgm")
    if (dataDir !== "memory://") fs.mkdirSync(dataDir, { recursive: true })
    const instance = await PGlite.create(dataDir, { extensions: { pg_trgm } })
    const { applyMigrations, pgliteExecutor } = await import("./migrate")
    await applyMigrations(pgliteExecutor(instance))
    return instance
  })()
  pg.catch(() => {
    release()
    opened.delete(dataDir)
  })
  opened.set(dataDir, { pg, release })
  return pg
}

/** Closes the embedded database so another process may open the folder. */
export async function closeEmbedded(dataDir: string): Promise<void> {
  const entry = opened.get(dataDir)
  if (!entry) return
  opened.delete(dataDir)
  const pg = await entry.pg.catch(() => null)
  await pg?.close()
  entry.release()
}

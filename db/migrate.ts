import crypto from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import type { PGlite } from "@electric-sql/pglite"
import type { Client } from "pg"

/**
 * Applies db/migrations/<name>/migration.sql in name order, each in one transaction, recorded
 * in a `_prisma_migrations`-compatible table. Prisma's own `migrate deploy` cannot run offline
 * here (see STACK.md), so this runner is the documented way to migrate either engine.
 */
export const MIGRATIONS_DIR = path.join(process.cwd(), "db", "migrations")

export type MigrationExecutor = {
  /** Runs `fn` while holding a lock that keeps other migrators out (PostgreSQL). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>
  query<R>(sql: string, params?: unknown[]): Promise<R[]>
  /** Runs a multi-statement script and records it, in one transaction. */
  applyInTransaction(script: string, record: () => Promise<void>): Promise<void>
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

export type Migration = { name: string; sql: string; checksum: string }

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8")
      return { name, sql, checksum: crypto.createHash("sha256").update(sql).digest("hex") }
    })
}

/** Returns the names of the migrations it applied (empty when the database was up to date). */
export async function applyMigrations(
  executor: MigrationExecutor,
  migrations = readMigrations(),
): Promise<string[]> {
  return executor.exclusive(async () => {
    await executor.query(CREATE_TABLE)
    const rows = await executor.query<{ migration_name: string; checksum: string }>(
      `SELECT "migration_name", "checksum" FROM "_prisma_migrations"
       WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL`,
    )
    const applied = new Map(rows.map((row) => [row.migration_name, row.checksum]))
    const newlyApplied: string[] = []
    for (const migration of migrations) {
      const checksum = applied.get(migration.name)
      if (checksum) {
        if (checksum !== migration.checksum) {
          throw new Error(
            `Migration ${migration.name} was edited after it was applied to this database. ` +
              "Add a new migration instead of changing an applied one.",
          )
        }
        continue
      }
      await executor.applyInTransaction(migration.sql, async () => {
        await executor.query(
          `INSERT INTO "_prisma_migrations"
             ("id", "checksum", "migration_name", "started_at", "finished_at", "applied_steps_count")
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [crypto.randomUUID(), migration.checksum, migration.name],
        )
      })
      newlyApplied.push(migration.name)
    }
    return newlyApplied
  })
}

export function pgliteExecutor(pg: PGlite): MigrationExecutor {
  return {
    exclusive: (fn) => fn(), // one process per data folder is guaranteed by the lock file
    query: async <R>(sql: string, params?: unknown[]) => (await pg.query<R>(sql, params)).rows,
    applyInTransaction: async (script, record) => {
      await pg.exec("BEGIN")
      try {
        await pg.exec(script)
        await record()
        await pg.exec("COMMIT")
      } catch (error) {
        await pg.exec("ROLLBACK")
        throw error
      }
    },
  }
}

const MIGRATION_LOCK_KEY = 727_436_001 // arbitrary, constant: one advisory lock for migrators

export function postgresExecutor(client: Client): MigrationExecutor {
  return {
    exclusive: async (fn) => {
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY])
      try {
        return await fn()
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY])
      }
    },
    query: async <R>(sql: string, params?: unknown[]) =>
      (await client.query(sql, params as unknown[])).rows as R[],
    applyInTransaction: async (script, record) => {
      await client.query("BEGIN")
      try {
        await client.query(script)
        await record()
        await client.query("COMMIT")
      } catch (error) {
        await client.query("ROLLBACK")
        throw error
      }
    },
  }
}

/** Migrates a PostgreSQL server (`npm run db:migrate` with DATABASE_URL set). */
export async function migratePostgres(url: string): Promise<string[]> {
  const { Client } = await import("pg")
  const client = new Client({ connectionString: url })
  await client.connect()
  try {
    return await applyMigrations(postgresExecutor(client))
  } finally {
    await client.end()
  }
}

async function main() {
  const { engineFromEnv, describeEngine, openEmbedded, closeEmbedded } = await import("./engine")
  const engine = engineFromEnv()
  if (engine.kind === "postgres") {
    const applied = await migratePostgres(engine.url)
    console.log(`${describeEngine(engine)}: ${applied.length} migration(s) applied${applied.length ? `: ${applied.join(", ")}` : ", already up to date"}`)
  } else {
    await openEmbedded(engine.dataDir) // opening migrates
    await closeEmbedded(engine.dataDir)
    console.log(`${describeEngine(engine)}: migrated`)
  }
}

if (process.argv[1]?.endsWith(path.join("db", "migrate.ts"))) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  })
}

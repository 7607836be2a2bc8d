import crypto from "node:crypto"
import { PGlite } from "@electric-sql/pglite"
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  applyMigrations,
  pgliteExecutor,
  postgresExecutor,
  readMigrations,
  type Migration,
  type MigrationExecutor,
} from "db/migrate"
import { Client } from "pg"
import { createScratchDatabase } from "test/helpers/postgres"

/** applyMigrations on both engines: idempotent, refuses edited history, all-or-nothing. */

function migration(name: string, sql: string): Migration {
  return { name, sql, checksum: crypto.createHash("sha256").update(sql).digest("hex") }
}

type Fresh = { executor: MigrationExecutor; dispose: () => Promise<void> }

async function freshPglite(): Promise<Fresh> {
  // As the app opens it (db/engine.ts): the directory's search index needs pg_trgm.
  const pg = new PGlite({ extensions: { pg_trgm } })
  await pg.waitReady
  return { executor: pgliteExecutor(pg), dispose: () => pg.close() }
}

async function freshPostgres(): Promise<Fresh> {
  const database = await createScratchDatabase("migrate_test")
  const client = new Client({ connectionString: database.url })
  await client.connect()
  return {
    executor: postgresExecutor(client),
    dispose: async () => {
      await client.end()
      await database.drop()
    },
  }
}

async function recorded(executor: MigrationExecutor) {
  return executor.query<{ migration_name: string; checksum: string }>(
    `SELECT "migration_name", "checksum" FROM "_prisma_migrations" ORDER BY "migration_name"`,
  )
}

async function tableExists(executor: MigrationExecutor, table: string) {
  const rows = await executor.query<{ name: string | null }>(
    `SELECT to_regclass($1)::text AS name`,
    [`public."${table}"`],
  )
  return rows[0]?.name != null
}

function migrationSuite(engine: string, fresh: () => Promise<Fresh>) {
  describe(`applyMigrations on ${engine}`, () => {
    const history = readMigrations()
    // One fresh database per engine; the tests run in order and each starts by migrating it.
    let database: Fresh
    beforeAll(async () => {
      database = await fresh()
    })
    afterAll(async () => {
      await database?.dispose()
    })

    it("applies every migration once, then nothing on a second run", async () => {
      expect(history.length).toBeGreaterThan(0)
      const { executor } = database
      expect(await applyMigrations(executor, history)).toEqual(history.map((m) => m.name))
      expect(await tableExists(executor, "Impersonation")).toBe(true)
      expect(await tableExists(executor, "AuditEvent")).toBe(true)
      const first = await recorded(executor)
      expect(first).toEqual(history.map((m) => ({ migration_name: m.name, checksum: m.checksum })))

      expect(await applyMigrations(executor, history)).toEqual([])
      expect(await applyMigrations(executor)).toEqual([])
      expect(await recorded(executor)).toEqual(first)

      // A migration added later is applied on its own.
      const added = migration("29990101000000_added", 'CREATE TABLE "AddedLater" ("id" INTEGER)')
      expect(await applyMigrations(executor, [...history, added])).toEqual([added.name])
      expect(await tableExists(executor, "AddedLater")).toBe(true)
      expect(await applyMigrations(executor, [...history, added])).toEqual([])
    })

    it("refuses a database where an applied migration was edited afterwards", async () => {
      const { executor } = database
      await applyMigrations(executor, history)
      const before = await recorded(executor)
      const edited = history.map((m, i) =>
        i === 0 ? migration(m.name, `${m.sql}\nCREATE TABLE "SneakedIn" ("id" INTEGER);\n`) : m,
      )
      const next = migration("29990101000000_after_edit", 'CREATE TABLE "AfterEdit" ("id" INTEGER)')

      await expect(applyMigrations(executor, [...edited, next])).rejects.toThrow(
        `Migration ${history[0]!.name} was edited after it was applied to this database`,
      )
      expect(await recorded(executor)).toEqual(before)
      expect(await tableExists(executor, "SneakedIn")).toBe(false)
      expect(await tableExists(executor, "AfterEdit")).toBe(false)
    })

    it("rolls back and does not record a migration that fails part-way", async () => {
      const { executor } = database
      await applyMigrations(executor, history)
      const before = await recorded(executor)
      const broken = migration(
        "29990101000000_broken",
        'CREATE TABLE "HalfDone" ("id" INTEGER);\nSELECT * FROM "NoSuchTable";\n',
      )

      await expect(applyMigrations(executor, [...history, broken])).rejects.toThrow(/NoSuchTable/)
      expect(await recorded(executor)).toEqual(before)
      expect(await tableExists(executor, "HalfDone")).toBe(false)
    })
  })
}

migrationSuite("an in-memory PGlite", freshPglite)

if (process.env.TEST_DB_ENGINE === "postgres") {
  migrationSuite("a fresh PostgreSQL database", freshPostgres)
}

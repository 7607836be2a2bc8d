import { PGlite } from "@electric-sql/pglite"
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm"
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils"
import { Client } from "pg"
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest"
import appDb, { Prisma, PrismaClient } from "db"
import {
  applyMigrations,
  pgliteExecutor,
  postgresExecutor,
  readMigrations,
  type MigrationExecutor,
} from "db/migrate"
import { SEAL_GRACE_MS, verifyAuditChain } from "app/audit/chain"
import { auditContentMac, sealAuditEvent } from "app/audit/hash"
import { auditKey } from "app/audit/key"
import { appendAuditEvent, GROUP_APPEND_MAX, recordAuditEvent, type AuditEntry } from "app/audit/log"
import { sealInTransaction, sealPendingAuditEvents, stopAuditSealing } from "app/audit/sealer"
import { runInDbScope } from "db/scope"
import { countStatements, statementsSent } from "db/statements"
import { periodicTasks } from "mailers/worker"
import { createScratchDatabase } from "test/helpers/postgres"

/**
 * The audit append (issue 9, item 5): one INSERT in the caller's transaction, no lock shared by
 * writers; a sealer links committed events into the chain afterwards, each exactly once, in the
 * order it seals them, and the verifier tells a late seal from a missing one.
 */

const databaseUrl = inject("databaseUrl")
const engine = databaseUrl ? "PostgreSQL" : "PGlite"

type Database = {
  client: PrismaClient
  /** SQL statements the client sent since the last clear, BEGIN/COMMIT/ROLLBACK left out. */
  statements: string[]
  raw: MigrationExecutor
  dispose: () => Promise<void>
}

/** A database of its own (the tests seal and verify the whole chain), migrated up to `upTo`. */
async function openDatabase(upTo?: string): Promise<Database> {
  const migrations = readMigrations().filter((m) => !upTo || m.name <= upTo)
  const statements: string[] = []
  const withLog = (adapter: SqlDriverAdapterFactory) => {
    const logged = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] })
    logged.$on("query", (event) => {
      // The PGlite adapter reports its COMMIT as a comment, `-- Implicit "COMMIT" query...`.
      const control = /^(-- Implicit "?)?(BEGIN|COMMIT|ROLLBACK)\b/i
      if (!control.test(event.query.trim())) statements.push(event.query)
    })
    return logged as unknown as PrismaClient
  }
  let client: PrismaClient
  let raw: MigrationExecutor
  let close: () => Promise<void>
  if (databaseUrl) {
    const scratch = await createScratchDatabase("auditappend")
    const pg = new Client({ connectionString: scratch.url })
    await pg.connect()
    raw = postgresExecutor(pg)
    await applyMigrations(raw, migrations)
    const { PrismaPg } = await import("@prisma/adapter-pg")
    client = withLog(new PrismaPg({ connectionString: scratch.url, max: 8 }))
    close = async () => {
      await pg.end()
      await scratch.drop()
    }
  } else {
    const pg = new PGlite({ extensions: { pg_trgm } })
    raw = pgliteExecutor(pg)
    await applyMigrations(raw, migrations)
    const { PrismaPGlite } = await import("pglite-prisma-adapter")
    const adapter = new PrismaPGlite(pg) as unknown as SqlDriverAdapterFactory
    client = withLog(adapter)
    close = () => pg.close()
  }
  return {
    client,
    statements,
    raw,
    dispose: async () => {
      await client.$disconnect()
      await close()
    },
  }
}

let counter = 0
const entry = (label: string): AuditEntry => ({
  action: "SIGNED_IN",
  actorId: null,
  subjectId: ++counter,
  impersonationId: null,
  organizationId: null,
  details: { label },
})

class Rollback extends Error {}

/** Runs `fn` in a transaction that is then rolled back. */
async function rolledBack(client: PrismaClient, fn: (tx: Prisma.TransactionClient) => Promise<void>) {
  await client
    .$transaction(
      async (tx) => {
        await fn(tx)
        throw new Rollback()
      },
      { timeout: 30_000 },
    )
    .catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error
    })
}

function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

const verify = (client: Prisma.TransactionClient | PrismaClient, now?: Date) =>
  verifyAuditChain({ client, checkpointFile: null, now })

describe(`the audit append on ${engine}`, () => {
  let db: Database

  beforeAll(async () => {
    db = await openDatabase()
  })
  afterAll(async () => {
    await db.dispose()
  })

  it("is one INSERT in the caller's transaction, sealed after the commit", async () => {
    db.statements.length = 0
    const row = await db.client.$transaction((tx) => recordAuditEvent(tx, entry("one statement")))
    expect(db.statements, db.statements.join("\n")).toHaveLength(1)
    expect(db.statements[0]).toMatch(/^\s*INSERT INTO "AuditEvent"/)
    expect(row).toMatchObject({ chainPosition: null, prevHash: null, hash: null })

    const { sealed } = await sealPendingAuditEvents({ client: db.client })
    expect(sealed).toEqual([row.id])
    const stored = await db.client.auditEvent.findUniqueOrThrow({ where: { id: row.id } })
    expect(stored).toMatchObject({ chainPosition: 1, prevHash: null, keyId: auditKey().id })
    const fields = { ...stored, details: stored.details as Record<string, unknown> }
    expect(stored.hash).toBe(sealAuditEvent(auditKey(), null, fields)) // the formula of old
    expect(await verify(db.client)).toMatchObject({ ok: true, events: 1, pending: 0 })
  })

  // PGlite is one connection: its transactions run one at a time, whatever the app does.
  it.runIf(databaseUrl)(
    "lets two open transactions each append, the later commit taking the later place",
    async () => {
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      let appended!: () => void
      const firstAppended = new Promise<void>((resolve) => (appended = resolve))
      const first = db.client.$transaction(
        async (tx) => {
          const row = await recordAuditEvent(tx, entry("first, committed last"))
          appended()
          await held // still open while the second appends and commits
          return row
        },
        { timeout: 20_000 },
      )
      await firstAppended
      // With a lock shared by writers (the old design) this waits for the first: a deadlock.
      const second = await within(
        5000,
        db.client.$transaction((tx) => recordAuditEvent(tx, entry("second, committed first"))),
        "an append while another transaction with an append is open",
      )
      expect((await sealPendingAuditEvents({ client: db.client })).sealed).toEqual([second.id])
      release()
      const row = await first
      expect(row.id).toBeLessThan(second.id)
      expect((await sealPendingAuditEvents({ client: db.client })).sealed).toEqual([row.id])

      const [a, b] = await Promise.all(
        [row.id, second.id].map((id) => db.client.auditEvent.findUniqueOrThrow({ where: { id } })),
      )
      expect(a!.chainPosition).toBe(b!.chainPosition! + 1) // sealing order, not id order
      expect(a!.prevHash).toBe(b!.hash)
      expect(await verify(db.client)).toMatchObject({ ok: true, lastId: row.id, pending: 0 })
    },
  )

  it("seals every event exactly once with sealers racing concurrent writers", async () => {
    const before = await db.client.auditEvent.count()
    const WRITERS = 10
    const EACH = 15
    let writing = true
    const sealedBy: number[][] = [[], [], []]
    const sealers = sealedBy.map(async (mine) => {
      while (writing) {
        const pass = await sealPendingAuditEvents({ client: db.client, waitMs: 0, batch: 7 })
        mine.push(...pass.sealed)
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    })
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let n = 0; n < EACH; n++) {
          await db.client.$transaction((tx) => recordAuditEvent(tx, entry(`writer ${w} #${n}`)))
        }
      }),
    )
    writing = false
    await Promise.all(sealers)
    sealedBy[0]!.push(...(await sealPendingAuditEvents({ client: db.client })).sealed)

    const all = sealedBy.flat()
    expect(all).toHaveLength(WRITERS * EACH) // none skipped...
    expect(new Set(all).size).toBe(all.length) // ...none twice
    const rows = await db.client.auditEvent.findMany({ orderBy: { chainPosition: "asc" } })
    expect(rows).toHaveLength(before + WRITERS * EACH)
    expect(rows.map((row) => row.chainPosition)).toEqual(rows.map((_, i) => i + 1))
    expect(await verify(db.client)).toMatchObject({ ok: true, events: rows.length, pending: 0 })
  })

  it("reports an event unsealed past the grace as a failure, a recent one as pending", async () => {
    await rolledBack(db.client, async (tx) => {
      // Inserted behind the app's back: no content MAC, so the sealer never takes it.
      const forged = await tx.auditEvent.create({
        data: { ...entry("forged"), at: new Date(), details: { label: "forged" } },
      })
      expect((await sealInTransaction(tx)).sealed).toEqual([])
      expect(await tx.auditEvent.findUniqueOrThrow({ where: { id: forged.id } })).toMatchObject({
        chainPosition: null,
      })
      expect(await verify(tx)).toMatchObject({ ok: true, pending: 1 })
      const later = new Date(Date.now() + SEAL_GRACE_MS + 60_000)
      const verdict = await verify(tx, later)
      expect(verdict).toMatchObject({ ok: false, failure: "UNSEALED", brokenAtId: forged.id })
      expect(verdict.ok || verdict.problem).toMatch(
        new RegExp(`^event #${forged.id}, recorded at .*, is still not sealed`),
      )
    })
    expect(await verify(db.client)).toMatchObject({ ok: true, pending: 0 })
  })

  // The reviewer's copy: an INSERT ... SELECT of a genuine event's content columns, its MAC too.
  const copyOf = (id: number) => `
    INSERT INTO "AuditEvent" ("at", "action", "actorId", "subjectId", "impersonationId", "organizationId",
      "ip", "userAgent", "details", "contentMac", "macNonce")
    SELECT "at", "action", "actorId", "subjectId", "impersonationId", "organizationId",
      "ip", "userAgent", "details", "contentMac", "macNonce" FROM "AuditEvent" WHERE "id" = ${id}
    RETURNING "id"`
  const started = (label: string): AuditEntry => ({ ...entry(label), action: "IMPERSONATION_STARTED" })

  it("refuses a copy of an event at its insert: the content MAC, with its nonce, is unique", async () => {
    const row = await db.client.$transaction((tx) => recordAuditEvent(tx, started("copied")))
    expect(row.macNonce).toMatch(/^[A-Za-z0-9_-]{22}$/) // 16 random bytes, base64url
    await sealPendingAuditEvents({ client: db.client })
    const before = await db.client.auditEvent.count()
    // Through the driver itself, as the reviewer did it (the PGlite adapter drops the message).
    await expect(db.raw.query(copyOf(row.id))).rejects.toThrow(
      /duplicate key value violates unique constraint "AuditEvent_contentMac_key"/,
    )
    expect(await db.client.auditEvent.count()).toBe(before)
    // The same content recorded twice by the app is two events: each has its own nonce and MAC.
    const again = await db.client.$transaction((tx) =>
      recordAuditEvent(tx, { ...started("copied"), subjectId: row.subjectId }, row.at),
    )
    expect(again.contentMac).not.toBe(row.contentMac)
    expect((await sealPendingAuditEvents({ client: db.client })).sealed).toEqual([again.id])
    expect(await verify(db.client)).toMatchObject({ ok: true, lastId: again.id, pending: 0 })
  })

  it("never seals a copy when the unique index is gone: it sends nothing, and verify reports it", async () => {
    await rolledBack(db.client, async (tx) => {
      await tx.webhookEndpoint.create({ data: { url: "https://hooks.example.com/audit", secret: "s" } })
      const original = await recordAuditEvent(tx, started("original"))
      expect((await sealInTransaction(tx)).sealed).toEqual([original.id])
      const outbox = await tx.outboxMessage.count()
      expect(await tx.outboxMessage.count({ where: { auditEventId: original.id } })).toBe(1)

      // Dropped by whoever can write the table (this transaction is rolled back).
      await tx.$executeRawUnsafe(`DROP INDEX "AuditEvent_contentMac_key"`)
      const [copy] = await tx.$queryRawUnsafe<Array<{ id: number }>>(copyOf(original.id))
      expect((await sealInTransaction(tx)).sealed).toEqual([])
      expect((await sealInTransaction(tx)).sealed).toEqual([]) // nor at the next pass
      expect(await tx.auditEvent.findUniqueOrThrow({ where: { id: copy!.id } })).toMatchObject({
        chainPosition: null,
        hash: null,
      })
      expect(await tx.outboxMessage.count()).toBe(outbox) // no second webhook, no evt_<copy>
      expect(await verify(tx)).toMatchObject({ ok: true, pending: 1 })
      const later = new Date(Date.now() + SEAL_GRACE_MS + 60_000)
      expect(await verify(tx, later)).toMatchObject({ ok: false, failure: "UNSEALED", brokenAtId: copy!.id })

      // Copied before its seal: neither is sealed (which one the app wrote cannot be told).
      const unsealed = await recordAuditEvent(tx, started("copied before its seal"))
      const [early] = await tx.$queryRawUnsafe<Array<{ id: number }>>(copyOf(unsealed.id))
      expect((await sealInTransaction(tx)).sealed).toEqual([])
      const left = await tx.auditEvent.findMany({
        where: { id: { in: [unsealed.id, early!.id] }, chainPosition: null },
      })
      expect(left).toHaveLength(2)
      expect(await tx.outboxMessage.count()).toBe(outbox)
    })
    expect(await verify(db.client)).toMatchObject({ ok: true, pending: 0 })
  })

  it("refuses an event whose nonce was changed, and still seals rows written before nonces", async () => {
    await rolledBack(db.client, async (tx) => {
      const sealed = await recordAuditEvent(tx, entry("nonce changed after its seal"))
      await sealInTransaction(tx)
      const unsealed = await recordAuditEvent(tx, entry("nonce changed before its seal"))
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`)
      for (const id of [unsealed.id, sealed.id]) {
        await tx.auditEvent.update({ where: { id }, data: { macNonce: "A".repeat(22) } })
      }
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`)
      expect((await sealInTransaction(tx)).sealed).toEqual([])
      expect(await tx.auditEvent.findUniqueOrThrow({ where: { id: unsealed.id } })).toMatchObject({
        chainPosition: null,
      })
      // The seal covers the nonce too.
      expect(await verify(tx)).toMatchObject({ ok: false, failure: "EDITED", brokenAtId: sealed.id })
    })
    await rolledBack(db.client, async (tx) => {
      // A row as the version before nonces wrote it (committed, unsealed, at the upgrade).
      const at = new Date()
      const { details, ...rest } = entry("before nonces")
      const mac = auditContentMac(auditKey(), { ...rest, details, at, ip: null, userAgent: null })
      const data = { ...rest, details: details as Prisma.InputJsonValue, at, contentMac: mac }
      const legacy = await tx.auditEvent.create({ data })
      expect(legacy.macNonce).toBeNull()
      expect((await sealInTransaction(tx)).sealed).toEqual([legacy.id])
      expect(await verify(tx)).toMatchObject({ ok: true, lastId: legacy.id, pending: 0 })
    })
  })

  it("reports sealed events swapped in the chain order (trigger off) as unlinked", async () => {
    const rows = await db.client.auditEvent.findMany({ orderBy: { chainPosition: "asc" }, take: 3 })
    const [a, b] = [rows[1]!, rows[2]!]
    await rolledBack(db.client, async (tx) => {
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`)
      const move = (id: number, chainPosition: number) =>
        tx.auditEvent.update({ where: { id }, data: { chainPosition } })
      await move(a.id, -1)
      await move(b.id, a.chainPosition!)
      await move(a.id, b.chainPosition!)
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`)
      expect(await verify(tx)).toMatchObject({ ok: false, failure: "EDITED", brokenAtId: b.id })
    })
    expect(await verify(db.client)).toMatchObject({ ok: true })
  })

  it("lets the chain fields be set once, and nothing else be changed", async () => {
    const row = await db.client.$transaction((tx) => recordAuditEvent(tx, entry("trigger")))
    const refused = /AuditEvent is append-only/
    // Unsealed: its content stays, and a seal that changes content is refused too.
    await expect(
      db.client.auditEvent.update({ where: { id: row.id }, data: { details: { label: "edited" } } }),
    ).rejects.toThrow(refused)
    await expect(
      db.client.auditEvent.update({
        where: { id: row.id },
        data: { chainPosition: 10_000, hash: "x", sealedAt: new Date(), actorId: 666 },
      }),
    ).rejects.toThrow(refused)
    await expect(
      db.client.auditEvent.update({ where: { id: row.id }, data: { macNonce: "A".repeat(22) } }),
    ).rejects.toThrow(refused)
    await expect(db.client.auditEvent.delete({ where: { id: row.id } })).rejects.toThrow(refused)
    await sealPendingAuditEvents({ client: db.client })
    // Sealed: the seal cannot be redone or moved.
    for (const data of [{ chainPosition: 10_000 }, { hash: "x" }, { prevHash: null }, { macNonce: null }]) {
      await expect(db.client.auditEvent.update({ where: { id: row.id }, data })).rejects.toThrow(refused)
    }
    expect(await verify(db.client)).toMatchObject({ ok: true, lastId: row.id })
  })
})

describe(`the migration to sealed positions on ${engine}`, () => {
  it("keeps an existing chain, linked in id order, valid in that order", async () => {
    const db = await openDatabase("20261206001000_access_request_expiry")
    try {
      const key = auditKey()
      let prevHash: string | null = null
      // Ids with a gap, as a rolled-back transaction leaves.
      for (const id of [3, 4, 9]) {
        const fields = {
          ...{ action: "SIGNED_IN" as const, at: new Date(Date.UTC(2026, 10, id)), actorId: id },
          ...{ subjectId: null, impersonationId: null, organizationId: null, ip: null, userAgent: null },
          details: { old: id },
        }
        const hash = sealAuditEvent(key, prevHash, fields)
        await db.raw.query(
          `INSERT INTO "AuditEvent" ("id", "at", "action", "actorId", "details", "prevHash", "hash", "keyId")
           VALUES ($1, $2, 'SIGNED_IN', $3, $4, $5, $6, $7)`,
          [id, fields.at.toISOString(), id, JSON.stringify(fields.details), prevHash, hash, key.id],
        )
        prevHash = hash
      }
      await applyMigrations(db.raw)
      const rows = await db.raw.query<{ id: number; chainPosition: number }>(
        `SELECT "id", "chainPosition" FROM "AuditEvent" ORDER BY "id"`,
      )
      expect(rows.map((row) => [row.id, row.chainPosition])).toEqual([[3, 1], [4, 2], [9, 3]])
      expect(await verify(db.client)).toMatchObject({ ok: true, events: 3, lastId: 9 })
      // New events continue the chain after the migrated ones.
      const row = await db.client.$transaction((tx) => recordAuditEvent(tx, entry("after")))
      await sealPendingAuditEvents({ client: db.client })
      expect(await verify(db.client)).toMatchObject({ ok: true, events: 4, lastId: row.id })
    } finally {
      await db.dispose()
    }
  })
})

describe(`the migration to unique content MACs on ${engine}`, () => {
  it("stops, naming the events, when copies were made (and sealed) before it", async () => {
    const db = await openDatabase("20261207000000_audit_async_seal")
    try {
      for (const id of [5, 8]) {
        await db.raw.query(
          `INSERT INTO "AuditEvent" ("id", "at", "action", "details", "contentMac")
           VALUES ($1, now(), 'SIGNED_IN', '{}', 'same mac')`,
          [id],
        )
      }
      await expect(applyMigrations(db.raw)).rejects.toThrow(
        "AuditEvent rows share a content MAC (copied events): #5, #8",
      )
    } finally {
      await db.dispose()
    }
  })
})

describe(`events that commit on their own (appendAuditEvent), on ${engine}`, () => {
  it("share INSERTs when they come at once, and each is written, sealed and verifiable", async () => {
    const before = statementsSent()
    const labels = Array.from({ length: 60 }, (_, i) => `group ${i}`)
    const rows = await Promise.all(labels.map((label) => appendAuditEvent(entry(label))))
    const sent = statementsSent() - before
    // One statement for the first, one for all that came while it was on its way (and a seal
    // pass or two of the app's own sealer): far fewer than one per event.
    expect(sent, `${sent} statements for 60 events`).toBeLessThan(15)
    expect(new Set(rows.map((row) => row.id)).size).toBe(60)
    const stored = await appDb.auditEvent.findMany({ where: { id: { in: rows.map((row) => row.id) } } })
    expect(stored.map((row) => (row.details as { label: string }).label).sort()).toEqual([...labels].sort())
    // Each caller got its own row back (the ids are matched by content MAC, not by position).
    for (const row of rows) expect(stored.find((s) => s.id === row.id)?.contentMac).toBe(row.contentMac)
    await sealPendingAuditEvents()
    const sealed = await appDb.auditEvent.findMany({ where: { id: { in: rows.map((row) => row.id) }, chainPosition: { not: null } } })
    expect(sealed).toHaveLength(60)
    expect(await verifyAuditChain({ checkpointFile: null })).toMatchObject({ ok: true })
  })

  it("counts the statement that carried an event into the request that appended it", async () => {
    const { counter, result } = countStatements(() => appendAuditEvent(entry("counted")))
    await result
    expect(counter.statements).toBe(1)
  })

  it("more events at once than one statement can carry are split, none lost", async () => {
    // PostgreSQL takes at most 65,535 parameters per statement, 11 per event: one INSERT of them
    // all would fail. GROUP_APPEND_MAX keeps each statement well below.
    const count = Math.ceil(65_535 / 11) + 100
    expect(GROUP_APPEND_MAX * 11).toBeLessThan(65_535)
    const rows = await Promise.all(Array.from({ length: count }, (_, i) => appendAuditEvent(entry(`many ${i}`))))
    expect(await appDb.auditEvent.count({ where: { id: { in: rows.map((row) => row.id) } } })).toBe(count)
  })

  it("an event the database refuses fails alone: the others of its statement are written", async () => {
    // PostgreSQL's jsonb takes no NUL character: this event's INSERT fails wherever it goes.
    const bad = { ...entry("bad"), details: { label: "bad", text: "nul \u0000 here" } }
    const good = Array.from({ length: 9 }, (_, i) => entry(`beside the bad one ${i}`))
    const settled = await Promise.allSettled([...good.slice(0, 4), bad, ...good.slice(4)].map((e) => appendAuditEvent(e)))
    expect(settled.map((s) => s.status)).toEqual([...Array(4).fill("fulfilled"), "rejected", ...Array(5).fill("fulfilled")])
    const ids = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value.id] : []))
    expect(await appDb.auditEvent.count({ where: { id: { in: ids } } })).toBe(9)
    expect(await appDb.auditEvent.count({ where: { details: { path: ["label"], equals: "bad" } } })).toBe(0)
  })

  it("inside a request's transaction, joins it: rolled back with it", async () => {
    const label = "rolled back with the request"
    await expect(
      appDb.$transaction((tx) =>
        runInDbScope({ transaction: tx }, async () => {
          await appendAuditEvent(entry(label))
          throw new Rollback()
        }),
      ),
    ).rejects.toBeInstanceOf(Rollback)
    expect(await appDb.auditEvent.count({ where: { details: { path: ["label"], equals: label } } })).toBe(0)
  })
})

describe(`the app's own sealing, on ${engine}`, () => {
  it("seals an event within moments of its commit, with nobody asking", async () => {
    const row = await appDb.$transaction((tx) => recordAuditEvent(tx, entry("sealed soon")))
    const committedAt = Date.now()
    let sealed: { chainPosition: number | null; keyId: string | null } = row
    while (sealed.chainPosition === null && Date.now() - committedAt < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      sealed = await appDb.auditEvent.findUniqueOrThrow({ where: { id: row.id } })
    }
    expect(sealed).toMatchObject({ chainPosition: expect.any(Number), keyId: auditKey().id })
  })
})

describe(`an event whose writer died before sealing it, on ${engine}`, () => {
  it("is sealed by the periodic sweep every server process runs", async () => {
    await stopAuditSealing() // nothing of this process's own is scheduled any more
    // The row exactly as recordAuditEvent writes it, its process gone before any seal.
    const at = new Date()
    const { details, ...rest } = entry("orphan")
    const mac = auditContentMac(auditKey(), { ...rest, details, at, ip: null, userAgent: null })
    const data = { ...rest, details: details as Prisma.InputJsonValue, at, contentMac: mac }
    const row = await appDb.auditEvent.create({ data })
    expect(row.chainPosition).toBeNull()
    const sweep = periodicTasks.find((task) => task.name === "seal audit events")!
    await sweep.run(new Date())
    const sealed = await appDb.auditEvent.findUniqueOrThrow({ where: { id: row.id } })
    expect(sealed.chainPosition).toEqual(expect.any(Number))
    expect(sealed.keyId).toBe(auditKey().id)
  })
})

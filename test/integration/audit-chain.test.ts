import { spawn } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils"
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest"
import db, { Prisma, PrismaClient } from "db"
import { closeEmbedded, openEmbedded } from "db/engine"
import { migratePostgres } from "db/migrate"
import { readLastCheckpoint, verifyAuditChain, writeAuditCheckpoint } from "app/audit/chain"
import { legacyAuditHash, sealAuditEvent } from "app/audit/hash"
import { auditKey, auditKeyFrom } from "app/audit/key"
import { flushAuditCheckpoint, recordAuditEvent } from "app/audit/log"
import { sealInTransaction, sealPendingAuditEvents } from "app/audit/sealer"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createUser } from "test/helpers/fixtures"
import { createScratchDatabase } from "test/helpers/postgres"

/**
 * The audit chain is sealed with a key the database never sees, and checkpointed outside it
 * (security review, finding 7): `npm run audit:verify` must catch an edit re-hashed without
 * the key, deleted last rows, and a wrong key, on the engine it is configured for.
 */

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "audit-chain-"))
const checkpointFile = path.join(tmpRoot, "audit-checkpoints.jsonl")
const databaseUrl = inject("databaseUrl")
const dataDir = path.join(tmpRoot, "pglite")
let scratchUrl: string | null = null
let scratchDrop: (() => Promise<void>) | null = null
let client: PrismaClient

/** A database of this file's own (on the engine under test), which the tests may tamper with. */
async function connect(): Promise<PrismaClient> {
  if (databaseUrl) {
    const { PrismaPg } = await import("@prisma/adapter-pg")
    return new PrismaClient({ adapter: new PrismaPg({ connectionString: scratchUrl!, max: 2 }) })
  }
  // Opening the folder takes its lock and migrates, as the app does.
  const { PrismaPGlite } = await import("pglite-prisma-adapter")
  const adapter = new PrismaPGlite(await openEmbedded(dataDir))
  return new PrismaClient({ adapter: adapter as unknown as SqlDriverAdapterFactory })
}

async function disconnect() {
  await client.$disconnect()
  if (!databaseUrl) await closeEmbedded(dataDir)
}

/** Runs the real `npm run audit:verify` on the scratch database and this file's checkpoints. */
async function spawnVerifyCommand(env: Record<string, string>) {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    AUDIT_CHECKPOINT_FILE: checkpointFile,
    ...env,
  }
  if (scratchUrl) childEnv.DATABASE_URL = scratchUrl
  else delete childEnv.DATABASE_URL
  const child = spawn("npm", ["run", "-s", "audit:verify"], { cwd: process.cwd(), env: childEnv })
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
  return { code, output }
}

/** The command needs the embedded folder to itself: this process lets go of it meanwhile. */
async function runVerifyCommand(env: Record<string, string> = {}) {
  await disconnect()
  try {
    return await spawnVerifyCommand({ PGLITE_DATA_DIR: dataDir, ...env })
  } finally {
    client = await connect()
  }
}

let counter = 0
async function recordEvents(count: number) {
  for (let i = 0; i < count; i++) {
    await client.$transaction((tx) =>
      recordAuditEvent(tx, {
        action: "SIGNED_IN",
        actorId: ++counter,
        subjectId: counter,
        impersonationId: null,
        organizationId: null,
        details: { n: counter },
      }),
    )
  }
  // This file's own database: the app's sealer (on the shared test database) does not see it.
  await sealPendingAuditEvents({ client })
}

const allRows = (tx: Prisma.TransactionClient | PrismaClient = client) =>
  tx.auditEvent.findMany({ orderBy: { id: "asc" } })
const fieldsOf = (row: Awaited<ReturnType<typeof allRows>>[number]) => ({
  ...row,
  details: row.details as Record<string, unknown>,
})

class Rollback extends Error {}

/**
 * Tampers as a database superuser would (trigger off), checks, then rolls everything back so
 * the next test starts from the intact chain.
 */
async function whileTampered<T>(
  tamper: (tx: Prisma.TransactionClient) => Promise<void>,
  check: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  let result: T | undefined
  await client
    .$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`)
        await tamper(tx)
        await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`)
        result = await check(tx)
        throw new Rollback()
      },
      { timeout: 30_000 },
    )
    .catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error
    })
  return result as T
}

/** Edits event `id` and re-hashes it and every later event with the unkeyed algorithm. */
async function editAndRehashWithoutKey(
  tx: Prisma.TransactionClient,
  id: number,
  keyId: "keep" | "drop",
) {
  let prevHash: string | null = null
  for (const row of await allRows(tx)) {
    if (row.id < id) {
      prevHash = row.hash
      continue
    }
    const details = row.id === id ? { n: "forged" } : (row.details as Record<string, unknown>)
    const hash = legacyAuditHash(prevHash, { ...fieldsOf(row), details })
    await tx.auditEvent.update({
      where: { id: row.id },
      data: {
        details: details as Prisma.InputJsonValue,
        prevHash,
        hash,
        keyId: keyId === "drop" ? null : row.keyId,
      },
    })
    prevHash = hash
  }
}

const verify = (tx: Prisma.TransactionClient | PrismaClient = client, key = auditKey()) =>
  verifyAuditChain({ client: tx, key, checkpointFile })

beforeAll(async () => {
  if (databaseUrl) {
    const scratch = await createScratchDatabase("audit_chain")
    await migratePostgres(scratch.url)
    scratchUrl = scratch.url
    scratchDrop = scratch.drop
  }
  client = await connect()
})

afterAll(async () => {
  await disconnect()
  await scratchDrop?.()
  fs.rmSync(tmpRoot, { recursive: true, force: true })
})

describe("npm run audit:verify", () => {
  it("passes on a fresh database", { timeout: 120_000 }, async () => {
    const { code, output } = await runVerifyCommand()
    expect(output).toMatch(/Audit chain verified: 0 events/)
    expect(code).toBe(0)
  })

  it("accepts legacy unkeyed rows only as the prefix that the first keyed event seals", async () => {
    // A database from before keys: rows hashed with plain SHA-256 and no key id.
    let prevHash: string | null = null
    for (const chainPosition of [1, 2]) {
      const n = chainPosition
      const fields = {
        ...{ action: "SIGNED_IN" as const, at: new Date(), actorId: n, subjectId: n },
        ...{ impersonationId: null, organizationId: null, ip: null, userAgent: null },
        details: { legacy: n },
      }
      const hash = legacyAuditHash(prevHash, fields)
      const sealedAt = new Date()
      const data = { ...fields, chainPosition, prevHash, hash, keyId: null, sealedAt }
      await client.auditEvent.create({ data })
      prevHash = hash
    }
    expect(await verify()).toMatchObject({ ok: true, events: 2, legacyEvents: 2, checkpoint: null })

    await recordEvents(4)
    const rows = await allRows()
    expect(rows.slice(2).every((row) => row.keyId === auditKey().id)).toBe(true)
    expect(rows[2]?.prevHash).toBe(rows[1]?.hash) // the first keyed event covers the legacy tail
    const checkpoint = await writeAuditCheckpoint({ client, checkpointFile })
    expect(checkpoint).toMatchObject({
      ...{ lastId: rows[5]!.id, hash: rows[5]!.hash, count: 6 },
      ...{ keyId: auditKey().id, keyedFromId: rows[2]!.id },
    })
    expect(readLastCheckpoint(checkpointFile)).toEqual(checkpoint)
    expect(await verify()).toMatchObject({
      ok: true,
      events: 6,
      legacyEvents: 2,
      lastId: rows[5]!.id,
    })

    // Downgrading the keyed events to the unkeyed format (re-hashed, no key needed) is caught.
    const downgraded = await whileTampered(
      (tx) => editAndRehashWithoutKey(tx, rows[2]!.id, "drop"),
      verify,
    )
    expect(downgraded).toMatchObject({ ok: false, failure: "DOWNGRADED", brokenAtId: rows[2]!.id })
    // Rewriting a legacy row breaks the seal of the first keyed event after it.
    const legacyEdited = await whileTampered(async (tx) => {
      const row = rows[1]!
      const details = { legacy: "forged" }
      const hash = legacyAuditHash(row.prevHash, { ...fieldsOf(row), details })
      await tx.auditEvent.update({ where: { id: row.id }, data: { details, hash } })
      await tx.auditEvent.update({ where: { id: rows[2]!.id }, data: { prevHash: hash } })
    }, verify)
    expect(legacyEdited).toMatchObject({ ok: false, failure: "EDITED", brokenAtId: rows[2]!.id })
  })

  it("passes after activity, matching the last checkpoint", { timeout: 120_000 }, async () => {
    await recordEvents(3)
    const checkpoint = await writeAuditCheckpoint({ client, checkpointFile })
    const { code, output } = await runVerifyCommand()
    expect(output).toContain(
      `Audit chain verified: 9 events, up to event #${checkpoint!.lastId} at `,
    )
    expect(output).toContain(
      `matches the checkpoint of ${checkpoint!.at} (event #${checkpoint!.lastId}, 9 events)`,
    )
    expect(code).toBe(0)
  })

  it("names the first event edited with the trigger off and re-hashed without the key", async () => {
    const rows = await allRows()
    const victim = rows[4]!
    const kept = await whileTampered((tx) => editAndRehashWithoutKey(tx, victim.id, "keep"), verify)
    expect(kept).toMatchObject({ ok: false, failure: "EDITED", brokenAtId: victim.id })
    expect(kept.ok || kept.problem).toMatch(
      new RegExp(`^event #${victim.id} does not match its seal`),
    )
    const dropped = await whileTampered(
      (tx) => editAndRehashWithoutKey(tx, victim.id, "drop"),
      verify,
    )
    expect(dropped).toMatchObject({ ok: false, failure: "DOWNGRADED", brokenAtId: victim.id })
    // Re-sealed by someone who knows the algorithm and the key id (both public), not the secret.
    const guess = auditKeyFrom("an-attackers-guess-at-the-key-0123456789")
    const otherKey = { secret: guess.secret, id: auditKey().id }
    const forged = await whileTampered(async (tx) => {
      let prevHash = rows[3]!.hash
      for (const row of rows.slice(4)) {
        const hash = sealAuditEvent(otherKey, prevHash, {
          ...fieldsOf(row),
          details: { n: "forged" },
        })
        const data = { details: { n: "forged" }, prevHash, hash }
        await tx.auditEvent.update({ where: { id: row.id }, data })
        prevHash = hash
      }
    }, verify)
    expect(forged).toMatchObject({ ok: false, failure: "EDITED", brokenAtId: victim.id })
  })

  it("reports a missing tail when the last rows are deleted, even after new events", async () => {
    const rows = await allRows()
    const checkpoint = readLastCheckpoint(checkpointFile)!
    const deleteLast = (tx: Prisma.TransactionClient) =>
      tx.$executeRaw`DELETE FROM "AuditEvent" WHERE "id" > ${rows[6]!.id}`.then(() => undefined)
    const truncated = await whileTampered(deleteLast, verify)
    const missingTail = { ok: false, failure: "MISSING_TAIL", brokenAtId: checkpoint.lastId }
    expect(truncated).toMatchObject(missingTail)
    expect(truncated.ok || truncated.problem).toContain(
      `records event #${checkpoint.lastId} (9 events), but the chain ends at event #${
        rows[6]!.id
      } (7 events)`,
    )
    expect(truncated.ok || truncated.problem).toMatch(/^Missing tail: the checkpoint of /)
    // The app keeps writing validly sealed events after the deletion: the checkpoint still tells.
    const continued = await whileTampered(async (tx) => {
      await deleteLast(tx)
      for (let i = 0; i < 4; i++) {
        await recordAuditEvent(tx, {
          ...{ action: "SIGNED_OUT", actorId: 1, subjectId: 1 },
          ...{ impersonationId: null, organizationId: null, details: { i } },
        })
      }
      await sealInTransaction(tx)
    }, verify)
    expect(continued).toMatchObject(missingTail)
    expect(continued.ok || continued.problem).toMatch(/^Rewritten: .* but that event is gone/)
    // Nor does a later checkpoint seal the shortened history.
    await whileTampered(deleteLast, async (tx) => {
      await expect(writeAuditCheckpoint({ client: tx, checkpointFile })).rejects.toThrow(
        `event #${checkpoint.lastId} of the checkpoint of ${checkpoint.at} is gone`,
      )
    })
    expect(readLastCheckpoint(checkpointFile)).toEqual(checkpoint)
  })

  it("fails with a wrong key, naming the key ids", { timeout: 120_000 }, async () => {
    const wrongKey = auditKeyFrom("a-different-audit-key-0123456789abcdef")
    const { code, output } = await runVerifyCommand({
      AUDIT_HMAC_KEY: "a-different-audit-key-0123456789abcdef",
    })
    expect(output).toContain(
      `Audit chain BROKEN: The configured AUDIT_HMAC_KEY (key id ${wrongKey.id}) is not the key ` +
        `that sealed this chain (key id ${auditKey().id}`,
    )
    expect(code).toBe(1)
    // Without a checkpoint to say so, the first keyed row names the key it was sealed with.
    const verdict = await verifyAuditChain({ client, key: wrongKey, checkpointFile: null })
    const firstKeyed = (await allRows()).find((row) => row.keyId !== null)!
    expect(verdict).toMatchObject({ ok: false, failure: "WRONG_KEY", brokenAtId: firstKeyed.id })
  })

  it("fails after a committed rewrite, naming the event", { timeout: 120_000 }, async () => {
    const victim = (await allRows())[5]!
    await client.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`)
      await editAndRehashWithoutKey(tx, victim.id, "keep")
      await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`)
    })
    const { code, output } = await runVerifyCommand()
    expect(output).toContain(`Audit chain BROKEN: event #${victim.id} does not match its seal`)
    expect(code).toBe(1)
  })

  it.runIf(!databaseUrl)(
    "refuses clearly while another process holds the embedded folder",
    async () => {
      // This process keeps the folder open while the command runs.
      const { code, output } = await spawnVerifyCommand({ PGLITE_DATA_DIR: dataDir })
      expect(output).toMatch(
        /Audit chain not verified: The embedded database in .* is in use by process \d+/,
      )
      expect(code).toBe(2)
    },
  )
})

describe("the running app", () => {
  it("seals real impersonations with the key and checkpoints them outside the database", async () => {
    const support = await createUser({ role: "SUPPORT" })
    const user = await createUser()
    const browser = new TestBrowser()
    await browser.login(support.email, PASSWORD)
    const started = await browser.rpc("impersonateUser", { userId: user.id, reason: "ticket #7" })
    expect(started.error).toBeNull()
    expect((await browser.rpc("stopImpersonating", {})).error).toBeNull()

    await flushAuditCheckpoint()
    const file = process.env.AUDIT_CHECKPOINT_FILE!
    const last = await db.auditEvent.findFirstOrThrow({ orderBy: { id: "desc" } })
    expect(last).toMatchObject({ action: "IMPERSONATION_ENDED", keyId: auditKey().id })
    expect(readLastCheckpoint(file)).toMatchObject({
      lastId: last.id,
      hash: last.hash,
      keyId: auditKey().id,
    })
    expect(await verifyAuditChain()).toMatchObject({ ok: true, lastId: last.id })
  })
})

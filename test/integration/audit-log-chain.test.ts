import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import db, { type Prisma } from "db"
import { readLastCheckpoint } from "app/audit/chain"
import {
  FULL_WALK_MAX_AGE_MS,
  auditChainState,
  fullWalkFilePath,
  runFullWalk,
} from "app/audit/chainState"
import { recordAuditEvent } from "app/audit/log"
import { sealInTransaction, sealPendingAuditEvents } from "app/audit/sealer"

/**
 * The audit page's chain state: the events since the last checkpoint are verified on every
 * view, the whole chain by a recorded walk. A broken chain shows as broken, whichever check
 * finds it.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "audit-log-chain-"))
let checkpointFile: string

async function recordEvent(client: Prisma.TransactionClient | null = null, reason = "chain state") {
  const write = (tx: Prisma.TransactionClient) =>
    recordAuditEvent(tx, {
      action: "SIGNED_IN",
      actorId: null,
      subjectId: null,
      impersonationId: null,
      organizationId: null,
      details: { reason },
    })
  // Sealed at once, as the app's sealer does right after the commit.
  if (client) {
    const row = await write(client)
    await sealInTransaction(client)
    return row
  }
  const row = await db.$transaction(write)
  await sealPendingAuditEvents()
  return row
}

class Rollback extends Error {}

/** Runs `check` on a tampered chain (trigger off, as a database superuser), then undoes it all. */
async function whileTampered<T>(
  tamper: (tx: Prisma.TransactionClient) => Promise<void>,
  check: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  let result: T | undefined
  await db
    .$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" DISABLE TRIGGER USER`)
        await tamper(tx)
        await tx.$executeRawUnsafe(`ALTER TABLE "AuditEvent" ENABLE TRIGGER USER`)
        result = await check(tx)
        throw new Rollback()
      },
      { timeout: 60_000 },
    )
    .catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error
    })
  return result as T
}

const lastEvent = () => db.auditEvent.findFirstOrThrow({ orderBy: { id: "desc" } })

beforeAll(async () => {
  checkpointFile = path.join(tmp, "audit-checkpoints.jsonl")
  for (let i = 0; i < 3; i++) await recordEvent()
})

describe("audit chain state", () => {
  it("is verified up to the last event, and checkpointed there", async () => {
    const state = await auditChainState({ checkpointFile })
    const last = await lastEvent()
    expect(state).toMatchObject({
      broken: null,
      verifiedUpTo: { id: last.id, at: last.at.toISOString(), events: await db.auditEvent.count() },
      lastFullWalk: null,
      fullWalkDue: true,
    })
    expect(readLastCheckpoint(checkpointFile)?.lastId).toBe(last.id)

    // The next view checks only what came since: the new event, not the whole table again.
    const added = await recordEvent()
    expect((await auditChainState({ checkpointFile })).verifiedUpTo?.id).toBe(added.id)
  })

  it("records a whole-chain walk and stops asking for one until it is a day old", async () => {
    const walk = await runFullWalk({ checkpointFile })
    const last = await lastEvent()
    expect(walk).toMatchObject({ ok: true, lastId: last.id, problem: null, source: "console" })
    const state = await auditChainState({ checkpointFile })
    expect(state).toMatchObject({ broken: null, lastFullWalk: walk, fullWalkDue: false })
    const tomorrow = new Date(Date.now() + FULL_WALK_MAX_AGE_MS + 60_000)
    expect((await auditChainState({ checkpointFile }, tomorrow)).fullWalkDue).toBe(true)
  })

  it("shows an event edited after the checkpoint as broken", async () => {
    await auditChainState({ checkpointFile })
    const state = await whileTampered(
      async (tx) => {
        const fresh = await recordEvent(tx, "to be edited")
        await tx.$executeRaw`UPDATE "AuditEvent" SET "details" = '{"reason":"edited"}'::jsonb WHERE "id" = ${fresh.id}`
      },
      (tx) => auditChainState({ client: tx, checkpointFile }),
    )
    expect(state.verifiedUpTo).toBeNull()
    expect(state.broken).toMatch(/event #\d+ does not match its seal: edited/)
  })

  it("shows the checkpointed event rewritten, or gone, as broken", async () => {
    const checkpoint = readLastCheckpoint(checkpointFile)!
    const rewritten = await whileTampered(
      (tx) =>
        tx.$executeRaw`UPDATE "AuditEvent" SET "hash" = md5("hash") WHERE "id" = ${checkpoint.lastId}`.then(
          () => {},
        ),
      (tx) => auditChainState({ client: tx, checkpointFile }),
    )
    expect(rewritten.broken).toBe(
      `event #${checkpoint.lastId} of the checkpoint of ${checkpoint.at} is different`,
    )
    const gone = await whileTampered(
      (tx) =>
        tx.$executeRaw`DELETE FROM "AuditEvent" WHERE "id" >= ${checkpoint.lastId}`.then(() => {}),
      (tx) => auditChainState({ client: tx, checkpointFile }),
    )
    expect(gone.broken).toBe(
      `event #${checkpoint.lastId} of the checkpoint of ${checkpoint.at} is gone`,
    )
  })

  it("an old event edited before the checkpoint: only the whole walk sees it, and then the page does", async () => {
    // A copy of the checkpoints, so the broken walk's record stays with this test.
    const ownFile = path.join(tmp, "old-edit", "audit-checkpoints.jsonl")
    fs.mkdirSync(path.dirname(ownFile))
    fs.copyFileSync(checkpointFile, ownFile)
    const first = await db.auditEvent.findFirstOrThrow({ orderBy: { id: "asc" } })
    const [incremental, walk, after] = await whileTampered(
      (tx) =>
        tx.$executeRaw`UPDATE "AuditEvent" SET "ip" = '192.0.2.66' WHERE "id" = ${first.id}`.then(
          () => {},
        ),
      async (tx) =>
        [
          await auditChainState({ client: tx, checkpointFile: ownFile }),
          await runFullWalk({ client: tx, checkpointFile: ownFile }),
          await auditChainState({ client: tx, checkpointFile: ownFile }),
        ] as const,
    )
    expect(incremental.broken).toBeNull() // the tail since the checkpoint is intact
    expect(walk).toMatchObject({
      ok: false,
      problem: expect.stringMatching(new RegExp(`event #${first.id} does not match`)),
    })
    expect(after.broken).toBe(`${walk.problem} (whole-chain walk of ${walk.at})`)
    expect(after.verifiedUpTo).toBeNull()
    // Recorded beside the checkpoints: the next view, and the next process, still see it.
    expect(fs.readFileSync(fullWalkFilePath(ownFile)!, "utf8")).toContain('"ok":false')
    expect((await auditChainState({ checkpointFile: ownFile })).broken).toMatch(/does not match/)
  })
})

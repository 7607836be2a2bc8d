import db, { engine, Prisma, PrismaClient } from "db"
import { outsideDbScope } from "db/scope"
import { afterAuditEvents } from "integrations/events"
import { isDatabaseUnreachable, lastMessageLine } from "app/core/errors"
import { log } from "app/core/log"
import { serverConfig } from "app/core/serverConfig"
import { writeAuditCheckpoint } from "./chain"
import { auditContentMac, sealAuditEvent } from "./hash"
import { auditKey, type AuditKey } from "./key"

/**
 * The sequencer of the audit chain, as transparency logs have one: writers only insert their
 * event (app/audit/log.ts); committed events are linked here, in batches, by one sealer at a
 * time across every instance. An event's place in the chain (chainPosition) is the order in
 * which it was sealed, so a transaction that commits late gets a later place than its id says.
 */

// Held for one sealing transaction; another instance that finds it taken leaves the work to it.
export const AUDIT_SEAL_LOCK = 727_436_003
export const SEAL_BATCH = 1000

export type SealPass = {
  /** Ids sealed by this pass, in chain order. */
  sealed: number[]
  /** Another sealer held the lock: nothing was done. */
  busy: boolean
  /** Unsealed rows read by this pass (sealed or refused): a full batch means more may wait. */
  read: number
  /** The chain had no keyed event before this pass (it starts, or ends a legacy prefix). */
  startsKeyedChain: boolean
}

/** This instance's key is not the one that sealed the chain: it must not extend it. */
export class AuditSealRefusedError extends Error {
  name = "AuditSealRefusedError"
}

// Rows without the writer's content MAC, or whose MAC another row carries too (a copy), are never
// sealed; each is logged once per process, and skipped so that it cannot hold up the events behind it.
const refusedIds = new Set<number>()

function refuse(id: number, why: string) {
  refusedIds.add(id)
  log.error({ auditEventId: id }, `Audit event #${id} is not sealed: ${why}`)
}

/**
 * The content MACs among `macs` that more than one row carries. The unique index on contentMac
 * already refuses a copy; this holds where the index was dropped by whoever can write the table.
 * (The nonce is inside the MAC: a copied nonce with a valid MAC is a copied MAC.)
 */
async function sharedContentMacs(tx: Prisma.TransactionClient, macs: string[]): Promise<Set<string>> {
  if (macs.length === 0) return new Set()
  const shared = await tx.auditEvent.groupBy({
    by: ["contentMac"],
    where: { contentMac: { in: macs } },
    having: { contentMac: { _count: { gt: 1 } } },
  })
  return new Set(shared.map((row) => row.contentMac!))
}

/**
 * One sealing pass inside `tx`: takes the chain lock (or returns busy), reads the chain's head
 * and up to `batch` committed unsealed events in id order, computes each seal as the writers
 * once did (HMAC over the previous hash and the content), and writes them in ONE statement;
 * then queues what those events send (integrations/events.ts).
 */
export async function sealInTransaction(
  tx: Prisma.TransactionClient,
  key: AuditKey = auditKey(),
  batch = SEAL_BATCH,
): Promise<SealPass> {
  const pass: SealPass = { sealed: [], busy: false, read: 0, startsKeyedChain: false }
  const [lock] = await tx.$queryRaw<Array<{ locked: boolean }>>`
    SELECT pg_try_advisory_xact_lock(${AUDIT_SEAL_LOCK}) AS "locked"`
  if (!lock?.locked) return { ...pass, busy: true }
  const pending = await tx.auditEvent.findMany({
    where: {
      chainPosition: null,
      ...(refusedIds.size > 0 ? { id: { notIn: [...refusedIds] } } : {}),
    },
    orderBy: { id: "asc" },
    take: batch,
  })
  pass.read = pending.length
  if (pending.length === 0) return pass
  const head = await tx.auditEvent.findFirst({
    where: { chainPosition: { not: null } },
    orderBy: { chainPosition: "desc" },
    select: { chainPosition: true, hash: true, keyId: true },
  })
  if (head?.keyId && head.keyId !== key.id) {
    throw new AuditSealRefusedError(
      `Audit events not sealed: the chain is sealed with key id ${head.keyId}, and the ` +
        `configured AUDIT_HMAC_KEY has key id ${key.id}`,
    )
  }
  pass.startsKeyedChain = head?.keyId == null
  let position = head?.chainPosition ?? 0
  let prevHash = head?.hash ?? null
  const authentic = pending.filter((row) => {
    const fields = { ...row, details: row.details as Record<string, unknown> }
    if (row.contentMac === auditContentMac(key, fields)) return true
    refuse(
      row.id,
      "it does not carry the content MAC of the configured AUDIT_HMAC_KEY (written with another " +
        "key, or inserted behind the app's back)",
    )
    return false
  })
  // Every row carrying a shared MAC is refused, the original too when it is not sealed yet: which
  // one the app wrote cannot be told, and verify reports both after the grace.
  const shared = await sharedContentMacs(tx, authentic.map((row) => row.contentMac!))
  const seals: Array<{ id: number; position: number; prevHash: string | null; hash: string }> = []
  for (const row of authentic) {
    if (shared.has(row.contentMac!)) {
      refuse(
        row.id,
        "another event carries the same content MAC (a copied row, inserted behind the app's back)",
      )
      continue
    }
    const fields = { ...row, details: row.details as Record<string, unknown> }
    const hash = sealAuditEvent(key, prevHash, fields)
    seals.push({ id: row.id, position: ++position, prevHash, hash })
    prevHash = hash
  }
  if (seals.length === 0) return pass
  const updated = await tx.$executeRaw`
    UPDATE "AuditEvent" AS e
    SET "chainPosition" = s."position", "prevHash" = s."prevHash", "hash" = s."hash",
        "keyId" = ${key.id}, "sealedAt" = clock_timestamp()
    FROM jsonb_to_recordset(${JSON.stringify(seals)}::jsonb)
      AS s("id" integer, "position" integer, "prevHash" text, "hash" text)
    WHERE e."id" = s."id" AND e."chainPosition" IS NULL`
  if (updated !== seals.length) {
    // Only a second sealer ignoring the lock could cause this: roll the whole pass back.
    throw new Error(`Audit seal: ${updated} of ${seals.length} events updated; pass rolled back`)
  }
  pass.sealed = seals.map((seal) => seal.id)
  // What the events send (receipts, webhooks) is queued with their seal: once per event, and
  // never for an event that is not the app's.
  const sealedIds = new Set(pass.sealed)
  await afterAuditEvents(tx, pending.filter((row) => sealedIds.has(row.id)))
  return pass
}

type SealClient = Pick<typeof db, "$transaction">

/** The sealer's connection's `application_name` on PostgreSQL. */
export const AUDIT_SEALER_APPLICATION_NAME = "audit-sealer"

// On PostgreSQL the sealer has a connection of its own: behind a pool full of writers it would
// queue with them, and events would wait that long for their seal. (PGlite is one connection.)
let ownClient: PrismaClient | null = null

function sealClient(): SealClient {
  if (engine.kind !== "postgres") return db
  if (!ownClient) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PrismaPg } = require("@prisma/adapter-pg") as typeof import("@prisma/adapter-pg")
    // Named, so that pg_stat_activity (and the bench's wire counter) can tell it from requests.
    const adapter = new PrismaPg({
      connectionString: engine.url,
      max: 1,
      allowExitOnIdle: true,
      application_name: AUDIT_SEALER_APPLICATION_NAME,
    })
    ownClient = new PrismaClient({ adapter })
  }
  return ownClient
}

type SealOptions = {
  client?: SealClient
  key?: AuditKey
  batch?: number
  /** How long to wait for another instance that holds the lock (0: leave the work to it). */
  waitMs?: number
}

/** Seals every committed event still unsealed, batch after batch; returns the ids it sealed. */
export async function sealPendingAuditEvents({
  client = sealClient(),
  key = auditKey(),
  batch = SEAL_BATCH,
  waitMs = 5000,
}: SealOptions = {}): Promise<{ sealed: number[]; busy: boolean; startsKeyedChain: boolean }> {
  const result = { sealed: [] as number[], busy: false, startsKeyedChain: false }
  const giveUpAt = Date.now() + waitMs
  for (;;) {
    const pass = await client.$transaction((tx) => sealInTransaction(tx, key, batch), {
      maxWait: 10_000, // behind a full connection pool of writers
      timeout: 30_000,
    })
    result.sealed.push(...pass.sealed)
    for (const id of pass.sealed) awaiting.delete(id) // sealed, whoever asked: no retry for it
    result.startsKeyedChain ||= pass.startsKeyedChain && pass.sealed.length > 0
    if (pass.busy) {
      if (Date.now() >= giveUpAt) return { ...result, busy: true }
      await new Promise((resolve) => setTimeout(resolve, 20))
      continue
    }
    if (pass.read < batch) return result
  }
}

// Sealing in this process, right after its own commits: recordAuditEvent cannot see its
// transaction commit, so the first pass comes a few ms later, and passes are retried (backing
// off) while events recorded here are not seen sealed. Many commits share one pass.
const SEAL_DELAY_MS = 2
const RETRY_DELAYS_MS = [5, 20, 100, 500, 2000]
// Then the periodic sweep (sweepAuditSeals) takes over: rolled back, or sealed by another instance.
const AWAIT_AT_MOST_MS = 10_000

const awaiting = new Map<number, number>() // event id -> when recorded here
let timer: NodeJS.Timeout | null = null
let running: Promise<void> | null = null
let retries = 0

/** Asks for `eventId` to be sealed soon, off the caller's transaction and response. */
export function sealSoon(eventId: number) {
  awaiting.set(eventId, Date.now())
  retries = 0
  arm(SEAL_DELAY_MS)
}

function arm(delayMs: number) {
  if (timer || running) return // the pass running re-arms when it ends
  // Outside the request's scope: its transaction is gone by the time the timer fires.
  timer = outsideDbScope(() => setTimeout(startPass, delayMs))
  timer.unref() // never keeps a process alive
}

function startPass() {
  timer = null
  if (awaiting.size === 0) return // sealed meanwhile by another call in this process
  running = sealAwaited().finally(() => {
    running = null
    if (awaiting.size > 0) {
      arm(RETRY_DELAYS_MS[Math.min(retries, RETRY_DELAYS_MS.length - 1)]!)
      retries++
    }
  })
}

async function sealAwaited() {
  try {
    const { sealed, startsKeyedChain } = await sealPendingAuditEvents({ waitMs: 0 })
    if (sealed.length > 0) scheduleCheckpoint(sealed.length, startsKeyedChain)
  } catch (error) {
    logSealFailure(error)
  }
  const now = Date.now()
  for (const [id, since] of awaiting) if (now - since > AWAIT_AT_MOST_MS) awaiting.delete(id)
}

function logSealFailure(error: unknown) {
  if (error instanceof AuditSealRefusedError) log.error(error.message) // expected: no stack
  // The database down or restarting: one line, no stack; the next pass (or the sweep) seals them.
  else if (isDatabaseUnreachable(error)) log.warn(`Audit events not sealed yet: ${lastMessageLine(error)}; retrying`)
  else log.error({ err: error }, "Audit events not sealed yet; retrying")
}

/** Waits for the pass under way in this process, if any (tests, and before exiting). */
export async function settleAuditSealing(): Promise<void> {
  while (running) await running
}

/** Drops what this process still meant to seal or checkpoint, and closes the sealer's own
 * connection (before closing the database). */
export async function stopAuditSealing(): Promise<void> {
  if (timer) clearTimeout(timer)
  timer = null
  awaiting.clear()
  await settleAuditSealing()
  if (pendingCheckpoint) clearTimeout(pendingCheckpoint.timer)
  pendingCheckpoint = null
  await flushing
  const own = ownClient
  ownClient = null
  await own?.$disconnect()
}

/**
 * The periodic sweep every server process runs (mailers/worker.ts): events committed by a
 * process that died before sealing them are sealed by any instance.
 */
export async function sweepAuditSeals(): Promise<number> {
  const { sealed, startsKeyedChain } = await sealPendingAuditEvents({ waitMs: 0 })
  if (sealed.length > 0) scheduleCheckpoint(sealed.length, startsKeyedChain)
  return sealed.length
}

// The checkpoint reads the sealed tail later, off the request: a file write must not slow or
// fail the change being audited.
const DUE_DELAY_MS = 1000
let eventsSinceCheckpoint = 0
let pendingCheckpoint: { timer: NodeJS.Timeout; at: number } | null = null
let flushing: Promise<void> | null = null

function scheduleCheckpoint(events: number, startsKeyedChain: boolean) {
  eventsSinceCheckpoint += events
  const due = startsKeyedChain || eventsSinceCheckpoint >= serverConfig.audit.checkpointEvery
  const at = Date.now() + (due ? DUE_DELAY_MS : serverConfig.audit.checkpointSeconds * 1000)
  if (pendingCheckpoint && pendingCheckpoint.at <= at) return
  if (pendingCheckpoint) clearTimeout(pendingCheckpoint.timer)
  const timer = setTimeout(() => void flushAuditCheckpoint(), at - Date.now())
  timer.unref() // never keeps a process alive
  pendingCheckpoint = { timer, at }
}

/** Seals what is pending, then writes the checkpoint now; failures are logged, never thrown. */
export function flushAuditCheckpoint(): Promise<void> {
  const flush = flushNow().finally(() => {
    if (flushing === flush) flushing = null
  })
  flushing = flush
  return flush
}

async function flushNow(): Promise<void> {
  if (pendingCheckpoint) clearTimeout(pendingCheckpoint.timer)
  pendingCheckpoint = null
  eventsSinceCheckpoint = 0
  try {
    await settleAuditSealing()
    await sealPendingAuditEvents()
  } catch (error) {
    logSealFailure(error) // the checkpoint still covers what is sealed
  }
  try {
    await writeAuditCheckpoint()
  } catch (error) {
    log.error({ err: error }, "Audit checkpoint not written")
  }
}

import db, { Prisma } from "db"
import { currentDbScope, outsideDbScope } from "db/scope"
import { creditStatement, currentStatementCounter } from "db/statements"
import { isDatabaseUnreachable } from "app/core/errors"
import { currentRequestMeta } from "app/core/requestContext"
import { auditContentMac, newAuditNonce, type SealedFields } from "./hash"
import { auditKey } from "./key"
import { sealSoon } from "./sealer"
import type { AuditAction } from "./schemas"

export { verifyAuditChain, type ChainVerdict } from "./chain"
export { flushAuditCheckpoint, sealPendingAuditEvents } from "./sealer"

type Tx = Prisma.TransactionClient

export type AuditEntry = {
  action: AuditAction
  actorId: number | null
  subjectId: number | null
  impersonationId: number | null
  organizationId: number | null
  details: Record<string, unknown>
}

/** An event as its writer inserts it: its fields, the request it came from, its nonce and MAC. */
type Prepared = SealedFields & AuditEntry & { ip: string | null; userAgent: string | null; macNonce: string; contentMac: string }

function prepare(entry: AuditEntry, at: Date): Prepared {
  const { ip, userAgent } = currentRequestMeta()
  const event = { ...entry, at, ip, userAgent, macNonce: newAuditNonce() }
  return { ...event, contentMac: auditContentMac(auditKey(), event) }
}

function valuesOf(e: Prepared): Prisma.Sql {
  return Prisma.sql`(${e.at.toISOString()}::timestamp(3), ${e.action}::"AuditAction", ${e.actorId}, ${e.subjectId}, ${e.impersonationId},
      ${e.organizationId}, ${e.ip}, ${e.userAgent}, ${JSON.stringify(e.details)}::jsonb, ${e.contentMac}, ${e.macNonce})`
}

/** One INSERT for every event given (raw: a query plan built by Prisma for each append cost more CPU than the rest of it). */
function insertEvents(client: Tx, events: Prepared[]) {
  return client.$queryRaw<Array<{ id: number; recordedAt: Date | string; contentMac: string }>>`
    INSERT INTO "AuditEvent" ("at", "action", "actorId", "subjectId", "impersonationId", "organizationId", "ip", "userAgent", "details", "contentMac", "macNonce")
    VALUES ${Prisma.join(events.map(valuesOf))}
    RETURNING "id", "recordedAt", "contentMac"`
}

function written(e: Prepared, inserted: { id: number; recordedAt: Date | string }) {
  const row = {
    ...e,
    id: inserted.id,
    recordedAt: new Date(inserted.recordedAt),
    chainPosition: null,
    prevHash: null,
    hash: null,
    keyId: null,
    sealedAt: null,
  }
  sealSoon(row.id)
  return row
}

export type RecordedAuditEvent = ReturnType<typeof written>

/**
 * Records one event in the caller's transaction, with the change it describes: one INSERT, and
 * no wait on other writers. The event joins the hash chain after it commits, when the sealer
 * (./sealer.ts) links it; what it sends (a receipt, webhooks) is queued then.
 */
export async function recordAuditEvent(tx: Tx, entry: AuditEntry, at = new Date()): Promise<RecordedAuditEvent> {
  const event = prepare(entry, at)
  const [inserted] = await insertEvents(tx, [event])
  return written(event, inserted!)
}

/**
 * Records an event that commits on its own (a refusal, a sign-out: there is no change of the
 * caller's to commit with it). Concurrent appends share a statement (group commit): while one
 * INSERT is on its way, the events that arrive wait for the next, which carries them all, so 50
 * writers cost a few statements, not 50 transactions. Resolves once the statement that carried
 * the event committed. Inside a request's transaction (db/scope.ts) the event joins that instead.
 */
export async function appendAuditEvent(entry: AuditEntry, at = new Date()): Promise<RecordedAuditEvent> {
  if (currentDbScope()?.transaction) return recordAuditEvent(db, entry, at)
  const event = prepare(entry, at)
  const inserted = await new Promise<{ id: number; recordedAt: Date | string }>((resolve, reject) => {
    queue.push({ event, resolve, reject, counter: currentStatementCounter() })
    if (!flushing) flushing = outsideDbScope(flushQueue)
  })
  return written(event, inserted)
}

/** At most this many events per statement (11 parameters each; PostgreSQL takes 65,535). */
export const GROUP_APPEND_MAX = 500

type Waiting = {
  event: Prepared
  resolve: (row: { id: number; recordedAt: Date | string }) => void
  reject: (error: unknown) => void
  counter: ReturnType<typeof currentStatementCounter>
}

const queue: Waiting[] = []
let flushing: Promise<void> | null = null

async function flushQueue(): Promise<void> {
  try {
    while (queue.length > 0) await insertGroup(queue.splice(0, GROUP_APPEND_MAX))
  } finally {
    flushing = null
  }
}

async function insertGroup(group: Waiting[]): Promise<void> {
  try {
    const rows = await insertEvents(db, group.map((w) => w.event))
    const byMac = new Map(rows.map((row) => [row.contentMac, row]))
    for (const w of group) {
      creditStatement(w.counter)
      const row = byMac.get(w.event.contentMac)
      if (row) w.resolve(row)
      else w.reject(new Error("Audit append: the event is missing from the statement that carried it"))
    }
  } catch (error) {
    if (group.length === 1 || isDatabaseUnreachable(error)) {
      for (const w of group) {
        creditStatement(w.counter)
        w.reject(error)
      }
      return
    }
    // One event the database refuses must not take the others with it: each on its own.
    for (const w of group) await insertGroup([w])
  }
}

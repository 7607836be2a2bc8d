import { Prisma } from "db"
import { afterAuditEvent } from "integrations/events"
import { log } from "app/core/log"
import { serverConfig } from "app/core/serverConfig"
import { currentRequestMeta } from "app/core/requestContext"
import { writeAuditCheckpoint } from "./chain"
import { sealAuditEvent, type SealedFields } from "./hash"
import { auditKey } from "./key"
import type { AuditAction } from "./schemas"

export { verifyAuditChain, type ChainVerdict } from "./chain"

type Tx = Prisma.TransactionClient

export type AuditEntry = {
  action: AuditAction
  actorId: number | null
  subjectId: number | null
  impersonationId: number | null
  organizationId: number | null
  details: Record<string, unknown>
}

// Serializes writers so each event links to the one before it, on any number of instances.
const AUDIT_CHAIN_LOCK = 727_436_002

/** Appends one event to the hash chain; call inside the transaction that made the change. */
export async function recordAuditEvent(tx: Tx, entry: AuditEntry, at = new Date()) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`
  const last = await tx.auditEvent.findFirst({
    orderBy: { id: "desc" },
    select: { hash: true, keyId: true },
  })
  const prevHash = last?.hash ?? null
  const key = auditKey()
  const { ip, userAgent } = currentRequestMeta()
  const event: SealedFields = { ...entry, at, ip, userAgent }
  const row = await tx.auditEvent.create({
    data: {
      ...entry,
      details: entry.details as Prisma.InputJsonValue,
      at,
      ip,
      userAgent,
      prevHash,
      hash: sealAuditEvent(key, prevHash, event),
      keyId: key.id,
    },
  })
  // What the event sends (receipt, webhooks) commits or rolls back with it.
  await afterAuditEvent(tx, row)
  scheduleCheckpoint(last?.keyId == null)
  return row
}

// The checkpoint reads the committed tail later, off the request: the transaction has not
// committed yet here, and a file write must not slow or fail the change being audited.
const DUE_DELAY_MS = 1000
let eventsSinceCheckpoint = 0
let pending: { timer: NodeJS.Timeout; at: number } | null = null

function scheduleCheckpoint(startsKeyedChain: boolean) {
  eventsSinceCheckpoint++
  const due = startsKeyedChain || eventsSinceCheckpoint >= serverConfig.audit.checkpointEvery
  const at = Date.now() + (due ? DUE_DELAY_MS : serverConfig.audit.checkpointSeconds * 1000)
  if (pending && pending.at <= at) return
  if (pending) clearTimeout(pending.timer)
  const timer = setTimeout(() => void flushAuditCheckpoint(), at - Date.now())
  timer.unref() // never keeps a process alive
  pending = { timer, at }
}

/** Writes the pending checkpoint now; failures are logged, never thrown. */
export async function flushAuditCheckpoint(): Promise<void> {
  if (pending) clearTimeout(pending.timer)
  pending = null
  eventsSinceCheckpoint = 0
  try {
    await writeAuditCheckpoint()
  } catch (error) {
    log.error({ err: error }, "Audit checkpoint not written")
  }
}

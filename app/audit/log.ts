import { Prisma } from "db"
import { currentRequestMeta } from "app/core/requestContext"
import { auditContentMac, type SealedFields } from "./hash"
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

/**
 * Records one event in the caller's transaction: one INSERT, and no wait on other writers. The
 * event joins the hash chain after it commits, when the sealer (./sealer.ts) links it; what it
 * sends (a receipt, webhooks) is queued then.
 */
export async function recordAuditEvent(tx: Tx, entry: AuditEntry, at = new Date()) {
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
      contentMac: auditContentMac(key, event),
    },
  })
  sealSoon(row.id)
  return row
}

import { Prisma } from "db"
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

/**
 * Records one event in the caller's transaction: one INSERT (raw: a query plan built by Prisma
 * for each append cost more CPU than the rest of it), and no wait on other writers. The
 * event joins the hash chain after it commits, when the sealer (./sealer.ts) links it; what it
 * sends (a receipt, webhooks) is queued then.
 */
export async function recordAuditEvent(tx: Tx, entry: AuditEntry, at = new Date()) {
  const key = auditKey()
  const { ip, userAgent } = currentRequestMeta()
  const macNonce = newAuditNonce()
  const event: SealedFields = { ...entry, at, ip, userAgent, macNonce }
  const contentMac = auditContentMac(key, event)
  const [inserted] = await tx.$queryRaw<Array<{ id: number; recordedAt: Date | string }>>`
    INSERT INTO "AuditEvent" ("at", "action", "actorId", "subjectId", "impersonationId", "organizationId", "ip", "userAgent", "details", "contentMac", "macNonce")
    VALUES (${at.toISOString()}::timestamp(3), ${entry.action}::"AuditAction", ${entry.actorId}, ${entry.subjectId}, ${entry.impersonationId},
      ${entry.organizationId}, ${ip}, ${userAgent}, ${JSON.stringify(entry.details)}::jsonb, ${contentMac}, ${macNonce})
    RETURNING "id", "recordedAt"`
  const row = {
    ...entry,
    id: inserted!.id,
    at,
    ip,
    userAgent,
    contentMac,
    macNonce,
    recordedAt: new Date(inserted!.recordedAt),
    chainPosition: null,
    prevHash: null,
    hash: null,
    keyId: null,
    sealedAt: null,
  }
  sealSoon(row.id)
  return row
}

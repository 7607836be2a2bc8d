import type { Prisma } from "db"

type Tx = Prisma.TransactionClient

/** An audit event as written (app/audit/log.ts), what the notifications are made of. */
export type RecordedAuditEvent = {
  id: number
  at: Date
  action: string
  actorId: number | null
  subjectId: number | null
  impersonationId: number | null
  organizationId: number | null
  details: Prisma.JsonValue
}

/**
 * Called by `recordAuditEvent` inside the transaction that writes each event: what the event
 * sends (the receipt of an ended impersonation, webhooks of starts, ends, access requests and
 * decisions) is written to the outbox in the same transaction, and delivered by the worker.
 */
export async function afterAuditEvent(_tx: Tx, _event: RecordedAuditEvent): Promise<void> {
  // Filled in by the outbox worker's issue work (receipts, webhooks).
}

import db, { type Prisma } from "db"
import { currentDbScope, currentImpersonation } from "db/scope"
import { log } from "app/core/log"
import { deliverEmail, OutgoingEmail } from "./mailer"

/**
 * How the app sends email on a user's behalf (rule 9). Each message is recorded in the outbox
 * (OutboxMessage). During an impersonation it is HELD: never delivered to its recipient, shown
 * in the admin's outbox (/admin/outbox) and named by the call's IMPERSONATED_MUTATION event.
 * Otherwise it is delivered now (deliverEmail) and marked SENT, or FAILED with the reason.
 */

export type Sent = { id: number; status: "HELD" | "SENT" | "FAILED" }

export async function sendEmail(input: OutgoingEmail): Promise<Sent> {
  const message = OutgoingEmail.parse(input)
  const impersonation = currentImpersonation()
  if (impersonation) {
    const row = await db.outboxMessage.create({
      data: {
        ...message,
        status: "HELD",
        impersonationId: impersonation.id,
        actorId: impersonation.actorId,
        subjectId: impersonation.subjectId,
      },
    })
    currentDbScope()?.heldMessageIds.push(row.id)
    log.info({ outbox: { id: row.id, impersonationId: impersonation.id } }, "Email held in the admin's outbox (impersonation)")
    return { id: row.id, status: "HELD" }
  }
  const row = await db.outboxMessage.create({ data: { ...message, status: "PENDING" } })
  try {
    await deliverEmail(message)
    await db.outboxMessage.update({ where: { id: row.id }, data: { status: "SENT", sentAt: new Date(), attempts: 1 } })
    return { id: row.id, status: "SENT" }
  } catch (error) {
    const reason = (error as Error)?.message?.slice(0, 500) ?? String(error)
    await db.outboxMessage.update({ where: { id: row.id }, data: { status: "FAILED", attempts: 1, lastError: reason } })
    log.warn({ outbox: { id: row.id, error: reason } }, "Email could not be delivered; kept in the outbox as FAILED")
    return { id: row.id, status: "FAILED" }
  }
}

/**
 * Queues an email for the outbox worker (mailers/worker.ts), inside the caller's transaction:
 * it is sent only if the change commits, and is not lost if the process dies before sending.
 * Never held: these are the app's own messages to a person (receipts, access requests).
 */
export async function enqueueEmail(
  tx: Prisma.TransactionClient,
  input: OutgoingEmail & { auditEventId?: number | null },
  now = new Date(),
): Promise<{ id: number }> {
  const { auditEventId = null, ...email } = input
  const message = OutgoingEmail.parse(email)
  return tx.outboxMessage.create({
    data: { ...message, kind: "EMAIL", status: "PENDING", nextAttemptAt: now, auditEventId },
    select: { id: true },
  })
}

import type { Prisma } from "db"
import { serverConfig } from "app/core/serverConfig"
import { log } from "app/core/log"
import { OutgoingEmail } from "mailers/mailer"
import { enqueueEmail } from "mailers/outbox"
import { receiptEmail } from "mailers/receipt"
import { WEBHOOK_EVENT_TYPES } from "./webhooks"

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
 * Called by the audit sealer (app/audit/sealer.ts) in the transaction that links events into
 * the chain, for each batch in chain order: what the events send (the receipt of an ended
 * impersonation, webhooks of starts, ends, access requests and decisions) is written to the
 * outbox there, once per event (an event is sealed once), and delivered by the worker. The
 * request that made the change pays nothing for it; an event inserted behind the app's back is
 * never sealed, so it sends nothing. A batch of events that send nothing costs no query.
 */
export async function afterAuditEvents(tx: Tx, events: readonly RecordedAuditEvent[]): Promise<void> {
  const sending = events.filter((event) => event.action in WEBHOOK_EVENT_TYPES)
  if (sending.length === 0) return
  for (const event of sending) if (event.action === "IMPERSONATION_ENDED") await enqueueReceipt(tx, event)
  await enqueueWebhooks(tx, sending)
}

/** One event's notifications (what `afterAuditEvents` does for a batch of one). */
export function afterAuditEvent(tx: Tx, event: RecordedAuditEvent): Promise<void> {
  return afterAuditEvents(tx, [event])
}

/** The webhook event id: stable across retries, so receivers can drop a delivery seen before. */
export function webhookEventId(auditEventId: number): string {
  return `evt_${auditEventId}`
}

/** The JSON body every endpoint receives for `event` (the same bytes are signed at each attempt). */
export function webhookBody(event: RecordedAuditEvent): string {
  const type = WEBHOOK_EVENT_TYPES[event.action as keyof typeof WEBHOOK_EVENT_TYPES]
  return JSON.stringify({
    id: webhookEventId(event.id),
    type,
    createdAt: event.at.toISOString(),
    data: {
      auditEventId: event.id,
      action: event.action,
      actorId: event.actorId,
      subjectId: event.subjectId,
      impersonationId: event.impersonationId,
      organizationId: event.organizationId,
      details: event.details,
    },
  })
}

async function enqueueWebhooks(tx: Tx, events: readonly RecordedAuditEvent[]) {
  const endpoints = await tx.webhookEndpoint.findMany({
    where: { enabled: true, deletedAt: null },
    select: { id: true, url: true },
    orderBy: { id: "asc" },
  })
  const fromEnv = serverConfig.webhooks.fromEnv
  const targets = [...(fromEnv ? [{ id: null, url: fromEnv.url }] : []), ...endpoints]
  if (targets.length === 0) return
  const nextAttemptAt = new Date()
  await tx.outboxMessage.createMany({
    data: events.flatMap((event) => {
      const type = WEBHOOK_EVENT_TYPES[event.action as keyof typeof WEBHOOK_EVENT_TYPES]
      const text = webhookBody(event)
      return targets.map((target) => ({
        kind: "WEBHOOK" as const,
        status: "PENDING" as const,
        to: target.url,
        subject: type,
        text,
        endpointId: target.id,
        auditEventId: event.id,
        nextAttemptAt,
      }))
    }),
  })
}

/** The Security page, as a link when the app knows its public origin. */
function securityPageLink(): string {
  const origin = serverConfig.http.appOrigin
  return origin ? `${origin}/account/security` : "/account/security (Security, in the top bar)"
}

/** The receipt of an ended impersonation, to the user whose account it was (not to a deleted account). */
async function enqueueReceipt(tx: Tx, event: RecordedAuditEvent) {
  if (event.impersonationId === null) return
  // Flat queries, one after the other: a transaction is one connection (a nested select would
  // make Prisma send its parts at once).
  const impersonation = await tx.impersonation.findUnique({
    where: { id: event.impersonationId },
    select: {
      startedAt: true,
      endedAt: true,
      endReason: true,
      reason: true,
      ticketUrl: true,
      mode: true,
      actorId: true,
      subjectId: true,
      organizationId: true,
    },
  })
  if (!impersonation) return
  const subject = await tx.user.findUnique({
    where: { id: impersonation.subjectId },
    select: { name: true, email: true, deletedAt: true },
  })
  if (!subject || subject.deletedAt) return
  const actor = await tx.user.findUnique({ where: { id: impersonation.actorId }, select: { name: true, email: true } })
  const organization =
    impersonation.organizationId === null
      ? null
      : await tx.organization.findUnique({ where: { id: impersonation.organizationId }, select: { name: true } })
  const changes = await tx.auditEvent.count({
    where: {
      impersonationId: event.impersonationId,
      action: "IMPERSONATED_MUTATION",
      details: { path: ["outcome"], equals: "ALLOWED" },
    },
  })
  const reveals = await tx.auditEvent.count({
    where: { impersonationId: event.impersonationId, action: "SENSITIVE_FIELD_REVEALED" },
  })
  const email = receiptEmail({
    user: subject,
    admin: actor ?? { name: "A support person", email: "unknown" },
    organization: organization?.name ?? null,
    startedAt: impersonation.startedAt,
    endedAt: impersonation.endedAt ?? event.at,
    reason: impersonation.reason,
    ticketUrl: impersonation.ticketUrl,
    mode: impersonation.mode,
    changes,
    reveals,
    endReason: impersonation.endReason ?? "",
    securityPage: securityPageLink(),
  })
  // A receipt that cannot be sent (an address the mail layer refuses) must not undo the end itself.
  if (!OutgoingEmail.safeParse(email).success) {
    log.warn({ receipt: { impersonationId: event.impersonationId } }, "Receipt not queued: the user's address is not deliverable")
    return
  }
  await enqueueEmail(tx, { ...email, auditEventId: event.id })
}

import { AuthenticationError, AuthorizationError, type Ctx } from "blitz"
import db, { type Prisma } from "db"
import { recordAuditEvent } from "app/audit/log"
import { serverConfig } from "app/core/serverConfig"
import { sessionHolder } from "app/impersonation/guard"

/**
 * /admin/integrations: where security events are sent (webhook endpoints) and how their
 * deliveries went. SUPERADMIN only: an endpoint receives every impersonation of every user.
 */

export const SUPERADMIN_ONLY = "Only a super admin can manage integrations."

/** The person behind an Integrations resolver: an active SUPERADMIN acting as themselves. */
export async function requireSuperadmin(ctx: Ctx): Promise<{ id: number }> {
  const holder = await sessionHolder(ctx.session)
  if (!holder) throw new AuthenticationError("Sign in to manage integrations")
  const user = await db.user.findUnique({ where: { id: holder.userId }, select: { id: true, role: true, status: true, deletedAt: true } })
  if (holder.impersonationId !== null || !user || user.role !== "SUPERADMIN" || user.status !== "ACTIVE" || user.deletedAt) {
    throw new AuthorizationError(SUPERADMIN_ONLY)
  }
  return { id: user.id }
}

export const DELIVERIES_SHOWN = 50

export type EndpointRow = {
  id: number
  url: string
  description: string | null
  enabled: boolean
  createdAt: Date
}

export type DeliveryRow = {
  id: number
  createdAt: Date
  type: string
  url: string
  /** "environment" for WEBHOOK_URL, else the endpoint's id and description. */
  endpoint: { id: number; description: string | null; deleted: boolean } | "environment"
  status: "PENDING" | "SENT" | "DEAD" | "HELD" | "FAILED"
  attempts: number
  nextAttemptAt: Date | null
  lastError: string | null
  sentAt: Date | null
}

export type IntegrationsPage = {
  /** The endpoint configured by WEBHOOK_URL (read-only here); null when none. */
  environmentEndpoint: { url: string } | null
  endpoints: EndpointRow[]
  /** The most recent webhook deliveries, newest first. */
  deliveries: DeliveryRow[]
}

/** What the page shows (never a secret). */
export async function loadIntegrationsPage(): Promise<IntegrationsPage> {
  const [endpoints, messages] = await Promise.all([
    db.webhookEndpoint.findMany({
      where: { deletedAt: null },
      orderBy: { id: "asc" },
      select: { id: true, url: true, description: true, enabled: true, createdAt: true },
    }),
    db.outboxMessage.findMany({
      where: { kind: "WEBHOOK" },
      orderBy: { id: "desc" },
      take: DELIVERIES_SHOWN,
      select: {
        id: true,
        createdAt: true,
        subject: true,
        to: true,
        status: true,
        attempts: true,
        nextAttemptAt: true,
        lastError: true,
        sentAt: true,
        endpoint: { select: { id: true, description: true, deletedAt: true } },
      },
    }),
  ])
  const fromEnv = serverConfig.webhooks.fromEnv
  return {
    environmentEndpoint: fromEnv ? { url: fromEnv.url } : null,
    endpoints,
    deliveries: messages.map(({ subject, to, endpoint, ...message }) => ({
      ...message,
      type: subject,
      url: to,
      endpoint: endpoint
        ? { id: endpoint.id, description: endpoint.description, deleted: endpoint.deletedAt !== null }
        : "environment",
    })),
  }
}

/** WEBHOOK_ENDPOINT_CHANGED by a SUPERADMIN, in the change's transaction (never with a secret). */
export async function auditEndpointChange(tx: Prisma.TransactionClient, superadminId: number, details: Record<string, unknown>) {
  await recordAuditEvent(tx, {
    action: "WEBHOOK_ENDPOINT_CHANGED",
    actorId: superadminId,
    subjectId: null,
    impersonationId: null,
    organizationId: null,
    details,
  })
}

import crypto from "node:crypto"
import db, { Prisma } from "db"
import { currentRequestMeta } from "app/core/requestContext"
import type { AuditAction } from "./schemas"

type Tx = Prisma.TransactionClient

export type AuditEntry = {
  action: AuditAction
  actorId: number | null
  subjectId: number | null
  impersonationId: number | null
  organizationId: number | null
  details: Record<string, unknown>
}

type HashedFields = AuditEntry & { at: Date; ip: string | null; userAgent: string | null }

/** JSON with sorted keys, so the same event always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
  }
  return JSON.stringify(value instanceof Date ? value.toISOString() : value)
}

export function auditEventHash(prevHash: string | null, event: HashedFields): string {
  const { action, at, actorId, subjectId, impersonationId, organizationId, ip, userAgent, details } =
    event
  const body = canonicalJson({
    action,
    at,
    actorId,
    subjectId,
    impersonationId,
    organizationId,
    ip,
    userAgent,
    details,
  })
  return crypto.createHash("sha256").update(`${prevHash ?? ""}\n${body}`).digest("hex")
}

// Serializes writers so each event links to the one before it, on any number of instances.
const AUDIT_CHAIN_LOCK = 727_436_002

/** Appends one event to the hash chain; call inside the transaction that made the change. */
export async function recordAuditEvent(tx: Tx, entry: AuditEntry, at = new Date()) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`
  const last = await tx.auditEvent.findFirst({ orderBy: { id: "desc" }, select: { hash: true } })
  const prevHash = last?.hash ?? null
  const { ip, userAgent } = currentRequestMeta()
  const event: HashedFields = { ...entry, at, ip, userAgent }
  return tx.auditEvent.create({
    data: {
      ...entry,
      details: entry.details as Prisma.InputJsonValue,
      at,
      ip,
      userAgent,
      prevHash,
      hash: auditEventHash(prevHash, event),
    },
  })
}

export type ChainVerdict = { ok: true; events: number } | { ok: false; brokenAtId: number; events: number }

/** Walks the whole chain and recomputes every hash. */
export async function verifyAuditChain(client: Pick<typeof db, "auditEvent"> = db): Promise<ChainVerdict> {
  let prevHash: string | null = null
  let cursor = 0
  let count = 0
  for (;;) {
    const batch = await client.auditEvent.findMany({
      where: { id: { gt: cursor } },
      orderBy: { id: "asc" },
      take: 1000,
    })
    if (batch.length === 0) return { ok: true, events: count }
    for (const row of batch) {
      const expected = auditEventHash(prevHash, {
        ...row,
        action: row.action,
        details: row.details as Record<string, unknown>,
      })
      if (row.prevHash !== prevHash || row.hash !== expected) {
        return { ok: false, brokenAtId: row.id, events: count }
      }
      prevHash = row.hash
      cursor = row.id
      count++
    }
  }
}

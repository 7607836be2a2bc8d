import crypto from "node:crypto"
import type { AuditKey } from "./key"
import type { AuditAction } from "./schemas"

/** The fields an event's seal covers, besides the previous event's hash. */
export type SealedFields = {
  action: AuditAction
  at: Date
  actorId: number | null
  subjectId: number | null
  impersonationId: number | null
  organizationId: number | null
  ip: string | null
  userAgent: string | null
  details: Record<string, unknown>
  /** The writer's random per-event nonce; absent (null) in rows written before it existed. */
  macNonce?: string | null
}

/** A fresh nonce for one event: 16 random bytes, base64url. */
export function newAuditNonce(): string {
  return crypto.randomBytes(16).toString("base64url")
}

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

const SEALED_KEYS = [
  "action",
  "at",
  "actorId",
  "subjectId",
  "impersonationId",
  "organizationId",
  "ip",
  "userAgent",
  "details",
] as const satisfies ReadonlyArray<keyof SealedFields>

/**
 * Only the sealed fields (a database row carries more), in canonical form; the nonce only when
 * the row has one, so rows written before it keep the body (and seal) they were given.
 */
function eventBody(event: SealedFields): string {
  const fields: Record<string, unknown> = Object.fromEntries(SEALED_KEYS.map((key) => [key, event[key]]))
  if (event.macNonce != null) fields.macNonce = event.macNonce
  return canonicalJson(fields)
}

/** HMAC-SHA256 over the previous hash, the key id and the event: only the key holder can forge it. */
export function sealAuditEvent(
  key: AuditKey,
  prevHash: string | null,
  event: SealedFields,
): string {
  return crypto
    .createHmac("sha256", key.secret)
    .update(`${prevHash ?? ""}\n${key.id}\n${eventBody(event)}`)
    .digest("hex")
}

/** The unkeyed SHA-256 of rows written before keys existed (keyId null); anyone can recompute it. */
export function legacyAuditHash(prevHash: string | null, event: SealedFields): string {
  return crypto
    .createHash("sha256")
    .update(`${prevHash ?? ""}\n${eventBody(event)}`)
    .digest("hex")
}

/**
 * The writer's HMAC over the key id and the event alone (no chain link, so no wait for the event
 * before): the sealer seals only rows that carry it, so a row slipped into the table by someone
 * without the key stays unsealed, and is reported, instead of being sealed into the chain. The
 * event's nonce makes every MAC unique, so a copied row is told apart (and refused) too.
 */
export function auditContentMac(key: AuditKey, event: SealedFields): string {
  return crypto
    .createHmac("sha256", key.secret)
    .update(`content\n${key.id}\n${eventBody(event)}`)
    .digest("hex")
}

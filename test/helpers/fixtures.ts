import { SecurePassword } from "@blitzjs/auth/secure-password"
import db, { type OrgRole, type Role } from "db"

export const PASSWORD = "fixture-password-1"
let hashed: Promise<string> | null = null

let counter = 0
/** A unique tag per call, so tests sharing a PostgreSQL database never collide. */
export function uniqueTag(label: string) {
  return `${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`
}

export async function createUser(options: {
  label?: string
  role?: Role
  status?: "ACTIVE" | "DISABLED"
  impersonationConsent?: "ALLOWED" | "ASK" | "NEVER"
  organization?: { id: number; role: OrgRole }
} = {}) {
  hashed ??= SecurePassword.hash(PASSWORD)
  const tag = uniqueTag(options.label ?? "user")
  return db.user.create({
    data: {
      email: `${tag}@fixture.example`,
      name: `Fixture ${tag}`,
      hashedPassword: await hashed,
      role: options.role ?? "USER",
      status: options.status ?? "ACTIVE",
      impersonationConsent: options.impersonationConsent ?? "ALLOWED",
      memberships: options.organization
        ? { create: { organizationId: options.organization.id, role: options.organization.role } }
        : undefined,
    },
  })
}

export async function createOrganization(label = "org") {
  return db.organization.create({ data: { name: uniqueTag(label) } })
}

export async function auditEventsFor(impersonationIds: number[]) {
  return db.auditEvent.findMany({
    where: { impersonationId: { in: impersonationIds } },
    orderBy: { id: "asc" },
  })
}

/** The public data Blitz mirrors into its (unsigned, base64) public data cookie. */
export function decodePublicDataCookie(value: string | undefined): Record<string, unknown> | null {
  if (!value) return null
  const json = Buffer.from(decodeURIComponent(value), "base64").toString("utf8")
  return JSON.parse(json) as Record<string, unknown>
}

/** Whole-table row counts, to prove a refused request changed nothing (test files run one at a time). */
export async function rowCounts() {
  const [users, sessions, impersonations, auditEvents, actorTokens] = await Promise.all([
    db.user.count(),
    db.session.count(),
    db.impersonation.count(),
    db.auditEvent.count(),
    db.actorToken.count(),
  ])
  return { users, sessions, impersonations, auditEvents, actorTokens }
}

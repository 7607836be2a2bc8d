import db from "db"
import type { Consent } from "app/impersonation/policy"

/** The organization's consent floor, for its OWNER's control on the organization page. */
export async function loadConsentFloor(organizationId: number): Promise<Consent | null> {
  const row = await db.organization.findUnique({ where: { id: organizationId }, select: { consentFloor: true } })
  return row?.consentFloor ?? null
}

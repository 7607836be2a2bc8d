import db from "db"
import { effectiveConsent, type Consent } from "app/impersonation/policy"

/** What the Security page's consent section shows: the user's choice and what applies. */
export type ConsentState = {
  /** The user's own setting. */
  consent: Consent
  /** What applies: the user's setting or the strictest floor of their organizations. */
  effective: Consent
  /** The organization whose floor is stricter than the user's choice, if any. */
  strictestFloor: { organizationId: number; organizationName: string; floor: Consent } | null
  /** True when this session is an impersonation: the choice is the user's alone (Save refused). */
  impersonating: boolean
}

/** The user's consent as `effectiveConsent` (policy.ts) decides it, with the organization named. */
export async function loadConsentState(userId: number, impersonating: boolean): Promise<ConsentState | null> {
  const user = await db.user.findUnique({
    where: { id: userId },
    select: {
      impersonationConsent: true,
      memberships: {
        select: { organizationId: true, organization: { select: { name: true, consentFloor: true } } },
        orderBy: { organizationId: "asc" },
      },
    },
  })
  if (!user) return null
  const applies = effectiveConsent({
    impersonationConsent: user.impersonationConsent,
    memberships: user.memberships.map((m) => ({
      organizationId: m.organizationId,
      role: "MEMBER" as const,
      consentFloor: m.organization.consentFloor,
    })),
  })
  const floorOrg = applies.source === "ORGANIZATION" ? user.memberships.find((m) => m.organizationId === applies.organizationId) : undefined
  return {
    consent: user.impersonationConsent,
    effective: applies.consent,
    strictestFloor: floorOrg
      ? { organizationId: floorOrg.organizationId, organizationName: floorOrg.organization.name, floor: floorOrg.organization.consentFloor }
      : null,
    impersonating,
  }
}

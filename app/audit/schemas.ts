import { z } from "zod"

/** The audit vocabulary; the database enum `AuditAction` holds the same names. */
export const AuditAction = z.enum([
  "IMPERSONATION_STARTED",
  "IMPERSONATION_ENDED",
  "IMPERSONATION_REFUSED",
  "SIGNED_IN",
  "SIGN_IN_FAILED",
  "SIGNED_OUT",
  "ACTOR_TOKEN_CREATED",
  "ACTOR_TOKEN_REDEEMED",
  "ACTOR_TOKEN_REFUSED",
  "ACTOR_TOKEN_REVOKED",
  "IMPERSONATED_MUTATION",
  "SENSITIVE_FIELD_REVEALED",
  "MEMBER_ROLE_CHANGED",
])
export type AuditAction = z.infer<typeof AuditAction>

import { z } from "zod"

/** The audit vocabulary; the database enum `AuditAction` holds the same names. */
export const AuditAction = z.enum([
  "IMPERSONATION_STARTED",
  "IMPERSONATION_ENDED",
  "IMPERSONATION_REFUSED",
  "SIGNED_IN",
  "SIGN_IN_FAILED",
  "SIGNED_OUT",
])
export type AuditAction = z.infer<typeof AuditAction>

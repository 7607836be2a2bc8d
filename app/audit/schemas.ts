import { z } from "zod"

/** The audit vocabulary; the database enum `AuditAction` holds the same names. */
export const AuditAction = z.enum(["IMPERSONATION_STARTED", "IMPERSONATION_ENDED"])
export type AuditAction = z.infer<typeof AuditAction>

import { z } from "zod"
import { accessHours, userId } from "app/impersonation/schemas"

/** Queries that take nothing. */
export const NoInput = z.object({}).strict().nullish()

export const accessRequestId = z
  .number({ message: "The request ID must be a number" })
  .int("The request ID must be a whole number")
  .positive("The request ID must be a positive number")
  .max(2_147_483_647, "The request ID is too large")

/**
 * The user's answer. APPROVE: for `hours` (1 to 24; default what was asked) in `mode`
 * (default read-only; read-write only if it was asked). DENY takes neither.
 */
export const DecideAccessRequestInput = z
  .object({
    id: accessRequestId,
    decision: z.enum(["APPROVE", "DENY"], { message: 'decision must be "APPROVE" or "DENY"' }),
    hours: accessHours.optional(),
    mode: z.enum(["READ_ONLY", "READ_WRITE"], { message: 'mode must be "READ_ONLY" or "READ_WRITE"' }).optional(),
  })
  .strict()
export type DecideAccessRequestInput = z.infer<typeof DecideAccessRequestInput>

export const RevokeAccessGrantInput = z.object({ id: accessRequestId }).strict()

/** The console dialog asks about one user: the signed-in admin's own request for them. */
export const GetAccessApprovalInput = z.object({ userId }).strict()

import { z } from "zod"

/**
 * Inputs of the user's own controls over support access (issue 8, items 1, 3 and 4): consent,
 * the organization floor, End access and the access history.
 */

const rowId = (what: string) =>
  z
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be a positive number`)
    .max(2_147_483_647, `${what} is too large`)

const consent = (what: string) =>
  z.enum(["ALLOWED", "ASK", "NEVER"], { message: `${what} must be "ALLOWED", "ASK" or "NEVER"` })

/** Queries that take nothing. */
export const NoInput = z.object({}).strict().nullish()

export const SetImpersonationConsent = z.object({ consent: consent("consent") }).strict()

export const SetOrganizationConsentFloor = z
  .object({ organizationId: rowId("Organization ID"), floor: consent("floor") })
  .strict()

/** End access: one impersonation of the signed-in user, or (no id) every live one. */
export const EndAccessByUser = z
  .object({ id: rowId("Impersonation ID").optional() })
  .strict()
  .nullish()
  .transform((input) => input ?? {})

export const ACCESS_HISTORY_PAGE_SIZE = 20
export const ACCESS_HISTORY_MAX_PAGE_SIZE = 100

/**
 * A page of the access history, newest first. Keyset cursors name an impersonation of this
 * user: `before` gives the page of older entries after it, `after` the page of newer ones.
 */
export const GetAccessHistory = z
  .object({
    before: rowId("Cursor").optional(),
    after: rowId("Cursor").optional(),
    take: z
      .number({ message: "Page size must be a number" })
      .int("Page size must be a whole number")
      .min(1, "Page size must be at least 1")
      .max(ACCESS_HISTORY_MAX_PAGE_SIZE, `Page size must be at most ${ACCESS_HISTORY_MAX_PAGE_SIZE}`)
      .optional(),
  })
  .strict()
  .refine((input) => input.before === undefined || input.after === undefined, {
    message: "Give one cursor, before or after, not both",
  })
  .nullish()
  .transform((input) => input ?? {})

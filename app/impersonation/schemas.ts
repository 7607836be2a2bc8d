import { z } from "zod"
import { email } from "app/auth/schemas"
import { safeText } from "app/core/text"
import { ACCESS_GRANT_MAX_HOURS } from "./policy"

export const REASON_MAX_LENGTH = 500

export const userId = z
  .number({ message: "User ID must be a number" })
  .int("User ID must be a whole number")
  .positive("User ID must be a positive number")
  .max(2_147_483_647, "User ID is too large")

// zod's trim() keeps zero-width and other invisible characters: a reason must have a visible one.
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u

export const reason = safeText({ message: "Give a reason for the impersonation" })
  .trim()
  .min(1, "Give a reason for the impersonation")
  .refine((value) => value === "" || VISIBLE.test(value), "Give a reason for the impersonation")
  .max(REASON_MAX_LENGTH, `The reason must be at most ${REASON_MAX_LENGTH} characters`)

export const TICKET_URL_MAX_LENGTH = 2000

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== ""
  } catch {
    return false
  }
}

/**
 * An optional link to the support ticket (http/https only: it is rendered as a link in the
 * banner, so `javascript:` and the like never are). An empty field means none.
 */
export const ticketUrl = safeText({ message: "The ticket link must be text" })
  .trim()
  .max(TICKET_URL_MAX_LENGTH, `The ticket link must be at most ${TICKET_URL_MAX_LENGTH} characters`)
  .refine((value) => !/[\s\u0000-\u001f\u007f]/.test(value), "The ticket link must not contain spaces or line breaks")
  .refine((value) => value === "" || isHttpUrl(value), "The ticket link must be an http:// or https:// URL")
  .transform((value) => (value === "" ? null : value))
  .nullish()

/** Rule 8: read-only unless the admin explicitly asks for read-write (and steps up). */
export const impersonationMode = z
  .enum(["READ_ONLY", "READ_WRITE"], { message: 'mode must be "READ_ONLY" or "READ_WRITE"' })
  .default("READ_ONLY")

/**
 * The step-up for read-write: the admin's own password, as sent (never trimmed). Verified on
 * the server only for READ_WRITE; an empty field counts as none given.
 */
export const stepUpPassword = safeText({ message: "Your password must be text" })
  .max(100, "Your password is too long")
  .transform((value) => (value === "" ? undefined : value))
  .optional()

/** Hours of access asked for or approved: a whole number from 1 to 24. */
export const accessHours = z
  .number({ message: "Hours must be a number" })
  .int("Hours must be a whole number")
  .min(1, "Ask for at least 1 hour")
  .max(ACCESS_GRANT_MAX_HOURS, `Hours can be at most ${ACCESS_GRANT_MAX_HOURS}`)

/**
 * `impersonateUser` takes the target by id or by email, never both. `hours`: how long the
 * access asked of a user whose consent is "Ask me each time" should last (default 1).
 */
export const ImpersonateUserInput = z
  .object({
    userId: userId.optional(),
    email: email.optional(),
    reason,
    ticketUrl,
    mode: impersonationMode,
    password: stepUpPassword,
    hours: accessHours.default(1),
  })
  .strict()
  .refine((input) => (input.userId === undefined) !== (input.email === undefined), {
    message: "Give either a user ID or an email, not both",
    path: ["userId"],
  })
export type ImpersonateUserInput = z.infer<typeof ImpersonateUserInput>
/** What a client sends (mode may be left out: read-only). */
export type ImpersonateUserRequest = z.input<typeof ImpersonateUserInput>

/** Stop takes nothing: whom to return to comes from the server's Impersonation row only. */
export const StopImpersonatingInput = z.object({}).strict().nullish()

/**
 * The "Switch to User" form: one free-text field for an id or an email, and the read-write
 * choice with the admin's password (sent only when read-write is chosen).
 */
export const SwitchToUserForm = z.object({
  user: safeText().trim().min(1, "Enter a user ID or an email").max(254, "That is too long"),
  reason,
  ticketUrl,
  readWrite: z.boolean().optional(),
  password: z.string().max(100, "Your password is too long").optional(),
  /** Hours of access to ask for, as typed (users who approve each access); empty: 1. */
  hours: z
    .string()
    .trim()
    .regex(/^(?:[1-9]|1\d|2[0-4])?$/, `Hours must be a whole number from 1 to ${ACCESS_GRANT_MAX_HOURS}`)
    .optional(),
})

export function switchFormToInput(values: z.input<typeof SwitchToUserForm>): ImpersonateUserRequest {
  const user = values.user.trim()
  const rest = {
    reason: values.reason,
    ticketUrl: values.ticketUrl?.trim() || null,
    ...stepUpFields(values.readWrite === true, values.password),
    ...(values.hours?.trim() ? { hours: Number(values.hours.trim()) } : {}),
  }
  return /^\d+$/.test(user) ? { userId: Number(user), ...rest } : { email: user, ...rest }
}

/** The mode and step-up a form sends: the password only with read-write, never otherwise. */
export function stepUpFields(readWrite: boolean, password: string | undefined): Pick<ImpersonateUserRequest, "mode" | "password"> {
  return readWrite ? { mode: "READ_WRITE", password: password ?? "" } : { mode: "READ_ONLY" }
}

/** End in the admin console names the impersonation by its id, nothing else. */
export const EndImpersonationAsAdminInput = z
  .object({
    impersonationId: z
      .number({ message: "Impersonation ID must be a number" })
      .int("Impersonation ID must be a whole number")
      .positive("Impersonation ID must be a positive number")
      .max(2_147_483_647, "Impersonation ID is too large"),
  })
  .strict()

/** An actor token as handed out: 32 random bytes, base64url without padding. */
export const ACTOR_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

export const actorToken = safeText({ message: "The ticket must be text" }).regex(
  ACTOR_TOKEN_PATTERN,
  "The ticket is not a valid link (43 characters of A-Z, a-z, 0-9, - and _)",
)

export const actorTokenId = z
  .number({ message: "The token ID must be a number" })
  .int("The token ID must be a whole number")
  .positive("The token ID must be a positive number")
  .max(2_147_483_647, "The token ID is too large")

/** An actor token is created for the same input as a start: the user by id or email, a reason. */
export const CreateActorTokenInput = ImpersonateUserInput
export type CreateActorTokenInput = ImpersonateUserInput

export const RevokeActorTokenInput = z.object({ id: actorTokenId }).strict()

export const RedeemActorTokenInput = z.object({ token: actorToken }).strict()

/** `GET /api/actor-tokens?status=`: which of the admin's own tokens to list (all when absent). */
export const ActorTokenListStatus = z
  .enum(["pending", "used", "revoked", "expired"], {
    message: 'status must be one of "pending", "used", "revoked" or "expired"',
  })
  .optional()

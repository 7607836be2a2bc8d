import { z } from "zod"
import { sensitiveFields, type SensitiveFieldName } from "blitz.config"
import { email, password } from "app/auth/schemas"
import { safeText } from "app/core/text"

/** Queries and mutations that take nothing. */
export const NoInput = z.object({}).strict().nullish()

const rowId = (what: string) =>
  z
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be a positive number`)
    .max(2_147_483_647, `${what} is too large`)

/** The password a person types to confirm who they are (length only: it is checked against the hash). */
const currentPassword = (message: string) =>
  safeText({ message }).min(1, message).max(100, "Password is too long")

export const ChangePassword = z
  .object({
    currentPassword: currentPassword("Enter your current password"),
    newPassword: password,
  })
  .strict()
  .refine((input) => input.currentPassword !== input.newPassword, {
    message: "The new password must be different from the current one",
    path: ["newPassword"],
  })

export const ChangeEmail = z.object({ email }).strict()

export const DeleteAccount = z.object({ password: currentPassword("Enter your password") }).strict()

export const API_KEY_NAME_MAX_LENGTH = 60

export const CreateApiKey = z
  .object({
    name: safeText({ message: "Give the key a name" })
      .trim()
      .min(1, "Give the key a name")
      .max(API_KEY_NAME_MAX_LENGTH, `The name must be at most ${API_KEY_NAME_MAX_LENGTH} characters`),
  })
  .strict()

export const RevokeApiKey = z.object({ id: rowId("API key ID") }).strict()

export const PHONE_MESSAGE = "Enter a phone number of 7 to 20 characters: digits, spaces, +, -, ( and )"

/** A phone number as people write it; empty (or null) removes it. */
export const phone = z
  .union([z.null(), safeText({ message: PHONE_MESSAGE }).trim()])
  .refine(
    (value) => value === null || value === "" || (/^[\d +\-()]{7,20}$/.test(value) && /(\d\D*){4}/.test(value)),
    PHONE_MESSAGE,
  )
  .transform((value) => (value === "" ? null : value))

export const UpdateProfile = z
  .object({
    name: safeText({ message: "Enter your name" }).trim().min(1, "Enter your name").max(100, "Name is too long"),
    /** Absent: left as it is (the page sends it only when it was edited). */
    phone: phone.optional(),
  })
  .strict()

// zod's trim() keeps zero-width and other invisible characters: count the visible ones.
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/gu
export const REVEAL_REASON_MIN_VISIBLE = 3
const REVEAL_REASON_MESSAGE = `Give a reason for revealing this value (at least ${REVEAL_REASON_MIN_VISIBLE} characters)`

export const revealReason = safeText({ message: REVEAL_REASON_MESSAGE })
  .trim()
  .refine((value) => (value.match(VISIBLE)?.length ?? 0) >= REVEAL_REASON_MIN_VISIBLE, REVEAL_REASON_MESSAGE)
  .refine((value) => value.length <= 500, "The reason must be at most 500 characters")

const fieldNames = Object.keys(sensitiveFields) as [SensitiveFieldName, ...SensitiveFieldName[]]

export const RevealSensitiveField = z
  .object({
    field: z.enum(fieldNames, { message: `field must be one of ${fieldNames.join(", ")}` }),
    id: rowId("ID").optional(),
    reason: revealReason,
  })
  .strict()
  // Fields of the user's own row need no id; any other row is named.
  .refine((input) => input.id !== undefined || sensitiveFields[input.field].model === "User", {
    message: "Name the row whose value to reveal",
    path: ["id"],
  })

/** The Settings page's password form: the new password typed twice (only the first is sent). */
export const ChangePasswordForm = z
  .object({
    currentPassword: currentPassword("Enter your current password"),
    newPassword: password,
    repeatNewPassword: safeText(),
  })
  .refine((values) => values.newPassword === values.repeatNewPassword, {
    message: "The two new passwords are not the same",
    path: ["repeatNewPassword"],
  })
  .refine((values) => values.currentPassword !== values.newPassword, {
    message: "The new password must be different from the current one",
    path: ["newPassword"],
  })

/** The Settings page's delete form (its field has a name of its own on a page with other password fields). */
export const DeleteAccountForm = z.object({ deletePassword: currentPassword("Enter your password") })

export const ChangeEmailForm = z.object({ newEmail: email })
export const CreateApiKeyForm = z.object({ keyName: CreateApiKey.shape.name })

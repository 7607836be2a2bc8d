import { z } from "zod"
import { email } from "app/auth/schemas"
import { safeText } from "app/core/text"

export const REASON_MAX_LENGTH = 500

export const userId = z
  .number({ message: "User ID must be a number" })
  .int("User ID must be a whole number")
  .positive("User ID must be a positive number")
  .max(2_147_483_647, "User ID is too large")

export const reason = safeText({ message: "Give a reason for the impersonation" })
  .trim()
  .min(1, "Give a reason for the impersonation")
  .max(REASON_MAX_LENGTH, `The reason must be at most ${REASON_MAX_LENGTH} characters`)

/** `impersonateUser` takes the target by id or by email, never both. */
export const ImpersonateUserInput = z
  .object({ userId: userId.optional(), email: email.optional(), reason })
  .strict()
  .refine((input) => (input.userId === undefined) !== (input.email === undefined), {
    message: "Give either a user ID or an email, not both",
    path: ["userId"],
  })
export type ImpersonateUserInput = z.infer<typeof ImpersonateUserInput>

/** Stop takes nothing: whom to return to comes from the server's Impersonation row only. */
export const StopImpersonatingInput = z.object({}).strict().nullish()

/** The "Switch to User" form: one free-text field for an id or an email. */
export const SwitchToUserForm = z.object({
  user: safeText().trim().min(1, "Enter a user ID or an email").max(254, "That is too long"),
  reason,
})

export function switchFormToInput(values: z.infer<typeof SwitchToUserForm>): ImpersonateUserInput {
  const user = values.user.trim()
  return /^\d+$/.test(user)
    ? { userId: Number(user), reason: values.reason }
    : { email: user, reason: values.reason }
}

"use client"
import { useMutation } from "@blitzjs/rpc"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import changePassword from "../mutations/changePassword"
import { ChangePasswordForm } from "../schemas"

/**
 * `onChanged` gets the outcome in words: the page keeps it, because the new session makes the
 * page load its data again (and this form with it).
 */
export function PasswordForm({ onChanged }: { onChanged: (message: string | null) => void }) {
  const [change] = useMutation(changePassword, { throwOnError: false })
  return (
    <Form
      schema={ChangePasswordForm}
      submitText="Change password"
      aria-label="Change password"
      initialValues={{ currentPassword: "", newPassword: "", repeatNewPassword: "" }}
      onSubmit={async (values, form) => {
        onChanged(null)
        try {
          const result = await change({ currentPassword: values.currentPassword, newPassword: values.newPassword })
          const others = result.otherSessionsEnded
          onChanged(
            `Password changed. ${others === 0 ? "No other session was signed in." : `${others} other session${others === 1 ? " was" : "s were"} signed out.`}`,
          )
          setTimeout(() => form.restart())
        } catch (error) {
          return { [FORM_ERROR]: errorMessageForPerson(error) }
        }
      }}
    >
      <LabeledTextField name="currentPassword" label="Current password" type="password" autoComplete="current-password" />
      <LabeledTextField name="newPassword" label="New password" type="password" autoComplete="new-password" />
      <LabeledTextField name="repeatNewPassword" label="Repeat the new password" type="password" autoComplete="new-password" />
    </Form>
  )
}

"use client"
import { useMutation } from "@blitzjs/rpc"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import impersonateUser from "../mutations/impersonateUser"
import { SwitchToUserForm as SwitchToUserSchema, switchFormToInput } from "../schemas"

/** The Blitz recipe's "Switch to User" form, with a required reason. */
export function SwitchToUserForm({ ttlMinutes }: { ttlMinutes: number }) {
  const [impersonateUserMutation] = useMutation(impersonateUser, { throwOnError: false })
  return (
    <Form
      schema={SwitchToUserSchema}
      submitText="Switch to User"
      aria-label="Switch to User"
      initialValues={{ user: "", reason: "", ticketUrl: "" }}
      onSubmit={async (values) => {
        try {
          await impersonateUserMutation(switchFormToInput(values))
          window.location.assign("/")
        } catch (error) {
          return { [FORM_ERROR]: errorMessageForPerson(error) }
        }
      }}
    >
      <LabeledTextField name="user" label="User ID or email" autoComplete="off" />
      <LabeledTextField
        name="reason"
        label="Reason"
        placeholder="Ticket link or what you are checking"
        multiline
      />
      <LabeledTextField name="ticketUrl" label="Ticket link" placeholder="https://… (optional)" />
      <p className="hint">
        The session lasts {ttlMinutes} minutes at most and cannot be extended. All actions are logged.
      </p>
    </Form>
  )
}

"use client"
import { useMutation } from "@blitzjs/rpc"
import { useState } from "react"
import { useField } from "react-final-form"
import styles from "app/access/components/accessRequests.module.css"
import { describeStartRefusal } from "app/access/startRefusals"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import impersonateUser from "../mutations/impersonateUser"
import { SwitchToUserForm as SwitchToUserSchema, switchFormToInput } from "../schemas"

/**
 * "Allow changes (read-write)" and, once ticked, "Your password" (the step-up, checked on the
 * server). Unticking forgets the password.
 */
function ReadWriteFields() {
  const { input: readWrite, meta } = useField<boolean>("readWrite", {
    type: "checkbox",
  })
  const password = useField<string>("password", {
    parse: (value) => value ?? "",
  })
  return (
    <>
      <div className="checkbox-field">
        <input
          name={readWrite.name}
          type="checkbox"
          checked={Boolean(readWrite.checked)}
          onBlur={readWrite.onBlur}
          onFocus={readWrite.onFocus}
          id="readWrite"
          disabled={meta.submitting}
          aria-describedby="readWrite-hint"
          onChange={(event) => {
            readWrite.onChange(event)
            if (!event.target.checked) password.input.onChange("")
          }}
        />
        <label htmlFor="readWrite">Allow changes (read-write)</label>
      </div>
      <p id="readWrite-hint" className="hint">
        {readWrite.checked
          ? "Changes you make are made as this user, each one logged with your name. Some actions stay refused."
          : "Read-only: you can look, but every change is refused."}
      </p>
      {readWrite.checked && (
        <LabeledTextField
          name="password"
          label="Your password"
          type="password"
          autoComplete="current-password"
        />
      )}
    </>
  )
}

/** The Blitz recipe's "Switch to User" form, with a required reason; read-only unless ticked. */
export function SwitchToUserForm({ ttlMinutes }: { ttlMinutes: number }) {
  const [impersonateUserMutation] = useMutation(impersonateUser, {
    throwOnError: false,
  })
  // "Waiting for the user's approval" is a state to wait in, not an error.
  const [waiting, setWaiting] = useState<string | null>(null)
  return (
    <>
      <Form
        schema={SwitchToUserSchema}
        submitText="Switch to User"
        aria-label="Switch to User"
        initialValues={{
          user: "",
          reason: "",
          ticketUrl: "",
          readWrite: false,
          password: "",
          hours: "",
        }}
        onSubmit={async (values, form) => {
          setWaiting(null)
          try {
            await impersonateUserMutation(switchFormToInput(values))
            window.location.assign("/")
          } catch (error) {
            // A step-up password is never kept in the form after a refusal.
            form.change("password", "")
            const about = describeStartRefusal(error)
            if (about?.kind === "waiting") {
              setWaiting(about.message)
              return
            }
            return {
              [FORM_ERROR]: about?.message ?? errorMessageForPerson(error),
            }
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
        <ReadWriteFields />
        <LabeledTextField
          name="hours"
          label="Hours of access to ask for"
          inputMode="numeric"
          autoComplete="off"
          placeholder="1 (only for users who approve each access)"
        />
        <p className="hint">
          The session lasts {ttlMinutes} minutes at most and cannot be extended. All actions are
          logged.
        </p>
      </Form>
      {waiting && (
        <p role="status" className={styles.info} data-testid="switch-waiting">
          {waiting}
        </p>
      )}
    </>
  )
}

"use client"
import { useMutation } from "@blitzjs/rpc"
import { useState } from "react"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import changeEmail from "../mutations/changeEmail"
import { ChangeEmailForm } from "../schemas"

export function EmailForm({ onChanged }: { onChanged: () => Promise<unknown> }) {
  const [change] = useMutation(changeEmail, { throwOnError: false })
  const [done, setDone] = useState<string | null>(null)
  return (
    <Form
      schema={ChangeEmailForm}
      submitText="Change email"
      aria-label="Change email"
      initialValues={{ newEmail: "" }}
      onSubmit={async (values, form) => {
        setDone(null)
        try {
          const result = await change({ email: values.newEmail })
          await onChanged()
          setDone(result.changed ? `Your email is now ${result.email}. Use it to sign in.` : "That is already your email.")
          setTimeout(() => form.restart())
        } catch (error) {
          return { [FORM_ERROR]: errorMessageForPerson(error) }
        }
      }}
    >
      <LabeledTextField name="newEmail" label="New email" type="email" autoComplete="email" />
      {done && (
        <p className="hint" role="status">
          {done}
        </p>
      )}
    </Form>
  )
}

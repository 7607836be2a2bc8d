"use client"
import { useMutation } from "@blitzjs/rpc"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import deleteAccount from "../mutations/deleteAccount"
import { DeleteAccountForm as DeleteAccountFormSchema } from "../schemas"

export function DeleteAccountForm() {
  const [remove] = useMutation(deleteAccount, { throwOnError: false })
  return (
    <Form
      schema={DeleteAccountFormSchema}
      submitText="Delete my account"
      aria-label="Delete account"
      initialValues={{ deletePassword: "" }}
      onSubmit={async (values) => {
        try {
          await remove({ password: values.deletePassword })
          window.location.assign("/")
        } catch (error) {
          return { [FORM_ERROR]: errorMessageForPerson(error) }
        }
      }}
    >
      <LabeledTextField
        name="deletePassword"
        label="Your password, to confirm"
        type="password"
        autoComplete="current-password"
      />
    </Form>
  )
}

"use client"
import { useMutation } from "@blitzjs/rpc"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import signup from "../mutations/signup"
import { Signup } from "../schemas"

export function SignupForm() {
  const [signupMutation] = useMutation(signup, { throwOnError: false })
  return (
    <Form
      schema={Signup}
      submitText="Create account"
      aria-label="Sign up"
      initialValues={{ name: "", email: "", password: "" }}
      onSubmit={async (values) => {
        try {
          await signupMutation(values)
          window.location.assign("/")
        } catch (error) {
          return { [FORM_ERROR]: errorMessageForPerson(error) }
        }
      }}
    >
      <LabeledTextField name="name" label="Name" autoComplete="name" />
      <LabeledTextField name="email" label="Email" type="email" autoComplete="username" />
      <LabeledTextField name="password" label="Password" type="password" autoComplete="new-password" />
    </Form>
  )
}

"use client"
import { useMutation } from "@blitzjs/rpc"
import Link from "next/link"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import login from "../mutations/login"
import { Login } from "../schemas"

export function LoginForm() {
  const [loginMutation] = useMutation(login, { throwOnError: false })
  return (
    <>
      <Form
        schema={Login}
        submitText="Log in"
        aria-label="Log in"
        initialValues={{ email: "", password: "" }}
        onSubmit={async (values) => {
          try {
            await loginMutation(values)
            window.location.assign("/")
          } catch (error) {
            return { [FORM_ERROR]: errorMessageForPerson(error) }
          }
        }}
      >
        <LabeledTextField name="email" label="Email" type="email" autoComplete="username" />
        <LabeledTextField name="password" label="Password" type="password" autoComplete="current-password" />
      </Form>
      <p>
        No account yet? <Link href="/signup">Sign up</Link>
      </p>
    </>
  )
}

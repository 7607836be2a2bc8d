"use client"
import type { ReactNode } from "react"
import { Form as FinalForm, type FormProps as FinalFormProps } from "react-final-form"
import { validateZodSchema } from "blitz"
import type { z } from "zod"
export { FORM_ERROR } from "final-form"

export type FormProps<S extends z.ZodType> = {
  children?: ReactNode
  submitText?: string
  schema?: S
  onSubmit: FinalFormProps<z.infer<S>>["onSubmit"]
  initialValues?: FinalFormProps<z.infer<S>>["initialValues"]
  "aria-label"?: string
}

export function Form<S extends z.ZodType>({
  children,
  submitText,
  schema,
  initialValues,
  onSubmit,
  ...props
}: FormProps<S>) {
  return (
    <FinalForm<z.infer<S>>
      initialValues={initialValues}
      validate={schema ? validateZodSchema(schema) : undefined}
      onSubmit={onSubmit}
      render={({ handleSubmit, submitting, submitError }) => (
        <form onSubmit={handleSubmit} className="form" noValidate {...props}>
          {children}
          {submitError && (
            <div role="alert" className="form-error">
              {submitError}
            </div>
          )}
          {submitText && (
            <button type="submit" disabled={submitting}>
              {submitText}
            </button>
          )}
        </form>
      )}
    />
  )
}

/** Expected errors (4xx) carry words meant for the person; anything else gets a generic line. */
export function errorMessageForPerson(error: unknown): string {
  const { statusCode, message } = (error ?? {}) as { statusCode?: number; message?: string }
  if (statusCode && statusCode < 500 && message) return message
  return "Sorry, something went wrong. Please try again."
}

export default Form

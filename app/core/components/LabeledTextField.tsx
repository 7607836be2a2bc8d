"use client"
import type { ComponentPropsWithoutRef } from "react"
import { useField } from "react-final-form"

export type LabeledTextFieldProps = ComponentPropsWithoutRef<"input"> & {
  name: string
  label: string
  type?: "text" | "password" | "email" | "search"
  multiline?: boolean
}

export function LabeledTextField({ name, label, multiline, ...props }: LabeledTextFieldProps) {
  const {
    input,
    meta: { touched, error, submitError, submitting },
  } = useField<string>(name, { parse: (value) => value ?? "" })
  const message = touched ? ((Array.isArray(error) ? error.join(", ") : error) ?? submitError) : null
  const errorId = `${name}-error`
  const fieldProps = {
    ...input,
    id: name,
    disabled: submitting,
    "aria-invalid": Boolean(message),
    "aria-describedby": message ? errorId : undefined,
  }
  return (
    <div className="field">
      <label htmlFor={name}>{label}</label>
      {multiline ? (
        <textarea {...fieldProps} rows={3} placeholder={props.placeholder} />
      ) : (
        <input {...fieldProps} {...props} />
      )}
      {message && (
        <div role="alert" id={errorId} className="field-error">
          {message}
        </div>
      )}
    </div>
  )
}

export default LabeledTextField

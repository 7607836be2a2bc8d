"use client"
import { useMutation } from "@blitzjs/rpc"
import { useState } from "react"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import { isMasked } from "../masking"
import updateProfile from "../mutations/updateProfile"
import { UpdateProfile } from "../schemas"
import type { Settings } from "../queries/getSettings"

/**
 * Name and phone number. A masked phone (while impersonating) is never put in the field, and
 * the phone is sent only when it was edited, so saving the name never overwrites it.
 */
export function ProfileForm({ settings, onSaved }: { settings: Settings; onSaved: () => Promise<unknown> }) {
  const [update] = useMutation(updateProfile, { throwOnError: false })
  const [saved, setSaved] = useState(false)
  const hidden = isMasked(settings.phone)
  const initialPhone = hidden ? "" : (settings.phone ?? "")
  return (
    <Form
      schema={UpdateProfile}
      submitText="Save profile"
      aria-label="Profile"
      initialValues={{ name: settings.name, phone: initialPhone }}
      onSubmit={async (values) => {
        setSaved(false)
        // The form holds what was typed (strings); the server parses it with the same schema.
        const typedPhone = values.phone ?? ""
        const phoneEdited = typedPhone.trim() !== initialPhone.trim()
        try {
          await update({ name: values.name, ...(phoneEdited ? { phone: typedPhone } : {}) })
          await onSaved()
          setSaved(true)
        } catch (error) {
          return { [FORM_ERROR]: errorMessageForPerson(error) }
        }
      }}
    >
      <LabeledTextField name="name" label="Name" autoComplete="name" />
      <LabeledTextField
        name="phone"
        label="Phone number"
        type="text"
        inputMode="tel"
        autoComplete="tel"
        placeholder={hidden ? "Hidden while impersonating: type a new one to replace it" : "+1 555 0100 1234"}
      />
      {saved && (
        <p className="hint" role="status">
          Profile saved.
        </p>
      )}
    </Form>
  )
}

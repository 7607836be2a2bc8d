"use client"
import { useMutation } from "@blitzjs/rpc"
import { useRouter } from "next/navigation"
import { useId, useState, type FormEvent } from "react"
import { FLOOR_CHOICES } from "app/access/words"
import { errorMessageForPerson } from "app/core/components/Form"
import type { Consent } from "app/impersonation/policy"
import setOrganizationConsentFloor from "../mutations/setOrganizationConsentFloor"
import "app/access/components/access.css"

const ORDER: Consent[] = ["ALLOWED", "ASK", "NEVER"]

/** An OWNER's "Access to members' accounts" on the organization page (the server decides again). */
export function ConsentFloorControl({ organizationId, organizationName, floor }: { organizationId: number; organizationName: string; floor: Consent }) {
  const ids = useId()
  const router = useRouter()
  const [choice, setChoice] = useState<Consent>(floor)
  const [notice, setNotice] = useState<string | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [save, { isPending }] = useMutation(setOrganizationConsentFloor)

  async function submit(event: FormEvent) {
    event.preventDefault()
    setNotice(null)
    setProblem(null)
    try {
      const result = await save({ organizationId, floor: choice })
      setNotice(result.changed ? "Saved." : "No change: that is already the setting.")
      router.refresh()
    } catch (failure) {
      setProblem(errorMessageForPerson(failure))
    }
  }

  return (
    <section aria-labelledby={`${ids}-heading`} className="floor-control">
      <h2 id={`${ids}-heading`}>Access to members&rsquo; accounts</h2>
      <p className="hint">
        Applies to platform support and to {organizationName}&rsquo;s own admins. Each member can still choose something
        stricter for their own account, never less strict.
      </p>
      <form className="consent-form" onSubmit={submit} aria-label="Access to members' accounts">
        <fieldset>
          <legend>Who may sign in as a member of {organizationName}</legend>
          {ORDER.map((value) => (
            <label key={value}>
              <input
                type="radio"
                name={`${ids}-floor`}
                value={value}
                checked={choice === value}
                onChange={() => setChoice(value)}
              />
              {FLOOR_CHOICES[value]}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={isPending}>
          Save
        </button>
        {notice && (
          <p role="status" className="hint">
            {notice}
          </p>
        )}
        {problem && (
          <p role="alert" className="form-error">
            {problem}
          </p>
        )}
      </form>
    </section>
  )
}

"use client"
import { invalidateQuery, useMutation, useQuery } from "@blitzjs/rpc"
import { useId, useState, type FormEvent } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import type { Consent } from "app/impersonation/policy"
import setImpersonationConsent from "../mutations/setImpersonationConsent"
import getImpersonationConsent from "../queries/getImpersonationConsent"
import getLiveAccess from "../queries/getLiveAccess"
import { CONSENT_CHOICES, EFFECTIVE_CONSENT, FLOOR_REQUIREMENT } from "../words"
import "./access.css"

const ORDER: Consent[] = ["ALLOWED", "ASK", "NEVER"]

const HINTS: Record<Consent, string> = {
  ALLOWED: "Support staff and your organization's admins may sign in as you to help, for a limited time, always on record.",
  ASK: "Each time, you get a request to approve (for up to 24 hours) or deny.",
  NEVER: "Nobody may sign in as you; support cannot look at your account.",
}

/**
 * The Security page's "Who may access your account": the user's own choice, and the setting
 * that applies when an organization's floor is stricter. The server decides again on Save.
 */
export function ConsentSetting() {
  const ids = useId()
  const [state, { error, isLoading, refetch }] = useQuery(getImpersonationConsent, null, { refetchOnWindowFocus: false })
  const [save, { isPending }] = useMutation(setImpersonationConsent)
  const [choice, setChoice] = useState<Consent | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const selected = choice ?? state?.consent ?? null

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (!selected) return
    setNotice(null)
    setProblem(null)
    try {
      const result = await save({ consent: selected })
      setNotice(result.changed ? "Saved." : "No change: that is already your setting.")
      setChoice(null)
      await Promise.all([refetch(), invalidateQuery(getLiveAccess)])
    } catch (failure) {
      setProblem(errorMessageForPerson(failure))
    }
  }

  return (
    <section aria-labelledby={`${ids}-heading`}>
      <h2 id={`${ids}-heading`}>Who may access your account</h2>
      {error ? (
        <p role="alert" className="form-error">
          {errorMessageForPerson(error)}
        </p>
      ) : isLoading || !state ? (
        <p className="hint">Loading your setting…</p>
      ) : (
        <form className="consent-form" onSubmit={submit} aria-label="Who may access your account">
          <fieldset>
            <legend>Support access to your account</legend>
            {ORDER.map((consent) => (
              <div key={consent} className="consent-choice">
                <label>
                  <input
                    type="radio"
                    name={`${ids}-consent`}
                    value={consent}
                    checked={selected === consent}
                    onChange={() => setChoice(consent)}
                    aria-describedby={`${ids}-${consent}`}
                  />
                  {CONSENT_CHOICES[consent]}
                </label>
                <span className="hint" id={`${ids}-${consent}`}>
                  {HINTS[consent]}
                </span>
              </div>
            ))}
          </fieldset>
          {state.strictestFloor && state.strictestFloor.floor !== "ALLOWED" && (
            <p className="floor-note" data-testid="consent-floor">
              {state.strictestFloor.organizationName} requires {FLOOR_REQUIREMENT[state.strictestFloor.floor]} for its
              members, so your choice cannot be less strict than that.
            </p>
          )}
          <p data-testid="effective-consent">
            <strong>What applies now:</strong> {EFFECTIVE_CONSENT[state.effective]}.
          </p>
          {state.impersonating ? (
            <p className="hint">Only the user can change this setting.</p>
          ) : (
            <button type="submit" disabled={isPending || selected === null}>
              Save
            </button>
          )}
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
      )}
    </section>
  )
}

"use client"
import { useMutation } from "@blitzjs/rpc"
import { useId, useState, type FormEvent } from "react"
import type { SensitiveFieldName } from "blitz.config"
import { errorMessageForPerson } from "app/core/components/Form"
import revealSensitiveField from "../mutations/revealSensitiveField"
import { revealReason } from "../schemas"

/**
 * A masked value ("•••• 1234") and, beside it, "Reveal": asks for a reason, then shows the
 * value the server returns for that one answer (the reveal is audited while impersonating).
 */
export function MaskedValue({ masked, field, id, label }: { masked: string; field: SensitiveFieldName; id?: number; label: string }) {
  const ids = useId()
  const [asking, setAsking] = useState(false)
  const [reason, setReason] = useState("")
  const [revealed, setRevealed] = useState<{ value: string | null } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [reveal, { isPending }] = useMutation(revealSensitiveField, { throwOnError: false })

  async function show(event: FormEvent) {
    event.preventDefault()
    setError(null)
    const parsed = revealReason.safeParse(reason)
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? "Give a reason")
      return
    }
    try {
      setRevealed(await reveal({ field, id, reason: parsed.data }))
      setAsking(false)
    } catch (failure) {
      setError(errorMessageForPerson(failure))
    }
  }

  if (revealed) return <span data-testid={`revealed-${field}`}>{revealed.value ?? "(none)"}</span>
  return (
    <span className="masked-value">
      <span>{masked}</span>{" "}
      {!asking ? (
        <button type="button" className="row-action" onClick={() => setAsking(true)} aria-label={`Reveal ${label.toLowerCase()}`}>
          Reveal
        </button>
      ) : (
        <form className="reveal-form" onSubmit={show} aria-label={`Reveal ${label.toLowerCase()}`}>
          <label htmlFor={`${ids}-reason`}>Reason for revealing</label>{" "}
          <input
            id={`${ids}-reason`}
            value={reason}
            onChange={(event) => setReason(event.target.value)}
            autoFocus
            maxLength={500}
            aria-invalid={Boolean(error)}
          />{" "}
          <button type="submit" className="row-action" disabled={isPending}>
            Show
          </button>
          {error && (
            <span role="alert" className="field-error">
              {" "}
              {error}
            </span>
          )}
        </form>
      )}
    </span>
  )
}

"use client"
import { useMutation } from "@blitzjs/rpc"
import { useState } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import redeemActorToken from "app/impersonation/mutations/redeemActorToken"

/** The ticket page's "Start": a POST (RPC mutation), then the app's home page as the user. */
export function StartImpersonationButton({ ticket }: { ticket: string }) {
  const [redeem, { isPending }] = useMutation(redeemActorToken, { throwOnError: false })
  const [error, setError] = useState<string | null>(null)
  const [started, setStarted] = useState(false)
  return (
    <form
      className="form"
      aria-label="Start impersonation"
      onSubmit={async (event) => {
        event.preventDefault()
        setError(null)
        try {
          await redeem({ token: ticket })
          setStarted(true)
          // Replaces the ticket page in this tab's history: Back does not return to the link.
          window.location.replace("/")
        } catch (caught) {
          setError(errorMessageForPerson(caught))
        }
      }}
    >
      {error && (
        <div role="alert" className="form-error">
          {error}
        </div>
      )}
      <button type="submit" disabled={isPending || started}>
        Start
      </button>
    </form>
  )
}

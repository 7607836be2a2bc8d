"use client"
import { useMutation } from "@blitzjs/rpc"
import { useRouter } from "next/navigation"
import { useState, useTransition } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import endImpersonationAsAdmin from "app/impersonation/mutations/endImpersonationAsAdmin"

/** "End" on a row of Active impersonations; the server decides, then the list is fetched again. */
export function EndImpersonationButton({ impersonationId, label }: { impersonationId: number; label: string }) {
  const router = useRouter()
  const [end, { isPending }] = useMutation(endImpersonationAsAdmin)
  const [refreshing, startRefresh] = useTransition()
  const [problem, setProblem] = useState<string | null>(null)
  return (
    <>
      <button
        type="button"
        className="end-button"
        title={`End ${label}`}
        disabled={isPending || refreshing}
        onClick={async () => {
          setProblem(null)
          try {
            await end({ impersonationId })
          } catch (error) {
            setProblem(errorMessageForPerson(error))
            return
          }
          startRefresh(() => router.refresh())
        }}
      >
        End
      </button>
      {problem && <span role="alert" className="field-error">{problem}</span>}
    </>
  )
}

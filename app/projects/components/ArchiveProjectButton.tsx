"use client"
import { useMutation } from "@blitzjs/rpc"
import { useState } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import archiveProject from "../mutations/archiveProject"

/** "Archive" for the project's owner; a refusal is shown beside it, in words. */
export function ArchiveProjectButton({
  project,
  onArchived,
}: {
  project: { id: number; name: string }
  onArchived: () => unknown
}) {
  const [archive, { isPending }] = useMutation(archiveProject)
  const [problem, setProblem] = useState<string | null>(null)
  return (
    <>
      <button
        type="button"
        className="row-action"
        aria-label={`Archive ${project.name}`}
        disabled={isPending}
        onClick={async () => {
          setProblem(null)
          try {
            await archive({ id: project.id })
          } catch (error) {
            setProblem(errorMessageForPerson(error))
            return
          }
          await onArchived()
        }}
      >
        Archive
      </button>
      {problem && (
        <span role="alert" className="field-error">
          {" "}
          {problem}
        </span>
      )}
    </>
  )
}

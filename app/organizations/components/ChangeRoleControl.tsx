"use client"
import { useMutation } from "@blitzjs/rpc"
import { useRouter } from "next/navigation"
import { useId, useState, type FormEvent } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import type { OrgRole } from "app/impersonation/policy"
import changeMemberRole from "../mutations/changeMemberRole"

const ROLE_NAMES: Record<OrgRole, string> = { OWNER: "Owner", ADMIN: "Admin", MEMBER: "Member" }

/** A member's row on the Members tab: pick a role and "Change role" (the server decides again). */
export function ChangeRoleControl({
  organizationId,
  member,
  choices,
}: {
  organizationId: number
  member: { userId: number; name: string; role: OrgRole }
  choices: OrgRole[]
}) {
  const ids = useId()
  const router = useRouter()
  const [role, setRole] = useState<OrgRole>(member.role)
  const [error, setError] = useState<string | null>(null)
  const [change, { isPending }] = useMutation(changeMemberRole, { throwOnError: false })
  // The current role is always listed, so the select shows it even when it is not a choice (an admin viewing another admin).
  const options = choices.includes(member.role) ? choices : [member.role, ...choices]

  async function submit(event: FormEvent) {
    event.preventDefault()
    setError(null)
    try {
      await change({ organizationId, userId: member.userId, role })
      router.refresh()
    } catch (failure) {
      setError(errorMessageForPerson(failure))
    }
  }

  return (
    <form className="role-form" onSubmit={submit} aria-label={`Change role of ${member.name}`}>
      <label htmlFor={`${ids}-role`} className="visually-hidden">
        Role for {member.name}
      </label>
      <select id={`${ids}-role`} value={role} onChange={(event) => setRole(event.target.value as OrgRole)}>
        {options.map((option) => (
          <option key={option} value={option}>
            {ROLE_NAMES[option]}
          </option>
        ))}
      </select>{" "}
      <button type="submit" className="row-action" disabled={isPending || role === member.role}>
        Change role
      </button>
      {error && (
        <span role="alert" className="field-error">
          {" "}
          {error}
        </span>
      )}
    </form>
  )
}

import Link from "next/link"
import { notFound, redirect } from "next/navigation"
import { serverConfig } from "app/core/serverConfig"
import { ImpersonateButton } from "app/impersonation/components/ImpersonateDialog"
import { loadCurrentUser } from "app/users/currentUser"
import { ChangeRoleControl } from "../components/ChangeRoleControl"
import { ConsentFloorControl } from "../components/ConsentFloorControl"
import { loadConsentFloor } from "../consentFloor"
import { loadOrganizationPage, parseId, type MemberRow } from "../members"

const ORG_ROLE_NAMES = { OWNER: "Owner", ADMIN: "Admin", MEMBER: "Member" } as const

function MemberLine({
  member,
  ttlSeconds,
  organizationId,
  showRoleColumn,
}: {
  member: MemberRow
  ttlSeconds: number
  organizationId: number
  showRoleColumn: boolean
}) {
  const { eligibility } = member
  return (
    <tr>
      <td>{member.name}</td>
      <td>{member.email}</td>
      <td>{ORG_ROLE_NAMES[member.role]}</td>
      {showRoleColumn && (
        <td>
          {member.roleChoices.length > 0 && (
            <ChangeRoleControl organizationId={organizationId} member={member} choices={member.roleChoices} />
          )}
        </td>
      )}
      {eligibility && (
        <td>
          {eligibility.allowed ? (
            <>
              <ImpersonateButton
                target={{
                  id: member.userId,
                  name: member.name,
                  email: member.email,
                  approvalRequired: eligibility.approvalRequired,
                }}
                ttlSeconds={ttlSeconds}
              />
              {eligibility.hint && <span className="hint"> {eligibility.hint}</span>}
            </>
          ) : (
            <span className="hint">{eligibility.message}</span>
          )}
        </td>
      )}
    </tr>
  )
}

export default async function OrganizationPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>
  searchParams: Promise<Record<string, string | string[] | undefined>>
}) {
  const user = await loadCurrentUser()
  if (!user) redirect("/login")
  const [{ id }, query] = await Promise.all([params, searchParams])
  const after = parseId(query.after)
  const page = await loadOrganizationPage({
    viewerId: user.id,
    impersonating: user.impersonator !== null,
    organizationId: parseId(id),
    after,
    before: after === null ? parseId(query.before) : null,
  })
  if (!page) notFound()
  const { organization } = page
  const base = `/organizations/${organization.id}`
  // Only an OWNER sets the floor, never while impersonating (the mutation decides again).
  const floor = page.viewerRole === "OWNER" && user.impersonator === null ? await loadConsentFloor(organization.id) : null
  return (
    <section className="wide">
      <h1>{organization.name}</h1>
      <p className="hint">
        {page.viewerRole
          ? `You are ${page.viewerRole === "MEMBER" ? "a" : "an"} ${ORG_ROLE_NAMES[page.viewerRole].toLowerCase()} of this organization.`
          : "You see this organization as platform staff."}
      </p>
      {floor !== null && <ConsentFloorControl organizationId={organization.id} organizationName={organization.name} floor={floor} />}
      <nav aria-label="Organization" className="tabs">
        <Link href={base} aria-current="page">
          Members
        </Link>
      </nav>
      <h2>Members</h2>
      {page.members.length === 0 ? (
        <p>No members to show.</p>
      ) : (
        <table className="directory">
          <caption className="visually-hidden">Members of {organization.name}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              {page.mayChangeRolesHere && <th scope="col">Change role</th>}
              {page.mayImpersonateHere && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {page.members.map((member) => (
              <MemberLine
                key={member.userId}
                member={member}
                ttlSeconds={serverConfig.impersonation.ttlSeconds}
                organizationId={organization.id}
                showRoleColumn={page.mayChangeRolesHere}
              />
            ))}
          </tbody>
        </table>
      )}
      {(page.previousCursor !== null || page.nextCursor !== null) && (
        <nav aria-label="Pages" className="paging">
          {page.previousCursor !== null ? (
            <Link href={`${base}?before=${page.previousCursor}`} rel="prev">
              Previous
            </Link>
          ) : (
            <span aria-disabled="true">Previous</span>
          )}
          {page.nextCursor !== null ? (
            <Link href={`${base}?after=${page.nextCursor}`} rel="next">
              Next
            </Link>
          ) : (
            <span aria-disabled="true">Next</span>
          )}
        </nav>
      )}
    </section>
  )
}

import Link from "next/link"
import { redirect } from "next/navigation"
import db from "db"
import { LogoutEverywhereButton } from "app/auth/components/LogoutEverywhereButton"
import { loadCurrentUser } from "app/users/currentUser"

export default async function AccountPage() {
  const user = await loadCurrentUser()
  if (!user) redirect("/login")
  const memberships = await db.membership.findMany({
    where: { userId: user.id },
    select: { role: true, organization: { select: { id: true, name: true } } },
    orderBy: { organizationId: "asc" },
  })
  return (
    <section>
      <h1>Account</h1>
      <dl>
        <dt>Name</dt>
        <dd>{user.name}</dd>
        <dt>Email</dt>
        <dd>{user.email}</dd>
        <dt>User ID</dt>
        <dd>{user.id}</dd>
      </dl>
      <h2>Organizations</h2>
      {memberships.length === 0 ? (
        <p>You are not a member of any organization.</p>
      ) : (
        <ul>
          {memberships.map(({ role, organization }) => (
            <li key={organization.id}>
              <Link href={`/organizations/${organization.id}`}>{organization.name}</Link> ({role.toLowerCase()})
            </li>
          ))}
        </ul>
      )}
      <h2>Sessions</h2>
      <p>Sign out of every browser and device, and end any impersonation you started.</p>
      <LogoutEverywhereButton />
    </section>
  )
}

import { redirect } from "next/navigation"
import { LogoutEverywhereButton } from "app/auth/components/LogoutEverywhereButton"
import { loadCurrentUser } from "app/users/currentUser"

export default async function AccountPage() {
  const user = await loadCurrentUser()
  if (!user) redirect("/login")
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
      <h2>Sessions</h2>
      <p>Sign out of every browser and device, and end any impersonation you started.</p>
      <LogoutEverywhereButton />
    </section>
  )
}

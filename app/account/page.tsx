import { redirect } from "next/navigation"
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
    </section>
  )
}

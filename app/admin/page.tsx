import { forbidden, redirect } from "next/navigation"
import { SwitchToUserForm } from "app/impersonation/components/SwitchToUserForm"
import { serverConfig } from "app/core/serverConfig"
import { loadCurrentUser } from "app/users/currentUser"
import { adminConsoleAccess } from "./access"

export default async function AdminPage() {
  const user = await loadCurrentUser()
  if (!user) redirect("/login")
  const access = await adminConsoleAccess(user)
  if (!access.allowed) forbidden()
  return (
    <section>
      <h1>Admin console</h1>
      <p>
        Signed in as {user.name} ({user.email}).
      </p>
      <h2>Switch to User</h2>
      <SwitchToUserForm ttlMinutes={Math.round(serverConfig.impersonation.ttlSeconds / 60)} />
    </section>
  )
}

import Link from "next/link"
import { SwitchToUserForm } from "app/impersonation/components/SwitchToUserForm"
import { serverConfig } from "app/core/serverConfig"
import { requireAdminConsole } from "./access"

export default async function AdminPage() {
  const { user } = await requireAdminConsole()
  return (
    <section>
      <h1>Admin console</h1>
      <p>
        Signed in as {user.name} ({user.email}).
      </p>
      <p>
        <Link href="/admin/users">User directory</Link>
      </p>
      <h2>Switch to User</h2>
      <SwitchToUserForm ttlMinutes={Math.round(serverConfig.impersonation.ttlSeconds / 60)} />
    </section>
  )
}

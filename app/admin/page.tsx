import { SwitchToUserForm } from "app/impersonation/components/SwitchToUserForm"
import { serverConfig } from "app/core/serverConfig"
import { describeQuota } from "app/impersonation/policy"
import { startsThisMonth } from "app/impersonation/start"
import { requireAdminConsole } from "./access"

export default async function AdminPage() {
  const { user, admin } = await requireAdminConsole()
  const usedThisMonth = await startsThisMonth(admin.id, new Date())
  return (
    <section>
      <h1>Admin console</h1>
      <p>
        Signed in as {user.name} ({user.email}).
      </p>
      <h2>Switch to User</h2>
      <p className="hint" data-testid="impersonation-quota">
        {describeQuota({ limit: serverConfig.impersonation.monthlyQuota, usedThisMonth })}
      </p>
      <SwitchToUserForm ttlMinutes={Math.round(serverConfig.impersonation.ttlSeconds / 60)} />
    </section>
  )
}

import type { ReactNode } from "react"
import { loadCurrentUser } from "app/users/currentUser"
import { ConsoleNav } from "./components/ConsoleNav"
import { adminConsoleAccess } from "./access"

/** Console pages still call `requireAdminConsole()`; the navigation only shows where they would pass. */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const user = await loadCurrentUser()
  const access = user ? await adminConsoleAccess(user) : null
  return (
    <>
      {access?.allowed && <ConsoleNav superadmin={access.admin.role === "SUPERADMIN"} />}
      {children}
    </>
  )
}

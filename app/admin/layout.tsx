import type { ReactNode } from "react"
import { loadCurrentUser } from "app/users/currentUser"
import { ConsoleNav } from "./components/ConsoleNav"
import { adminConsoleAccess } from "./access"

/** Console pages still call `requireAdminConsole()`; the navigation only shows where they would pass. */
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const user = await loadCurrentUser()
  const showNav = user ? (await adminConsoleAccess(user)).allowed : false
  return (
    <>
      {showNav && <ConsoleNav />}
      {children}
    </>
  )
}

import Link from "next/link"
import { adminConsoleAccess } from "app/admin/access"
import { loadCurrentUser } from "app/users/currentUser"

export default async function Forbidden() {
  const user = await loadCurrentUser()
  const access = user ? await adminConsoleAccess(user) : null
  return (
    <section>
      <h1>Access denied</h1>
      <p>{access && !access.allowed ? access.message : "You do not have access to this page."}</p>
      <p>
        <Link href="/">Back to home</Link>
      </p>
    </section>
  )
}

import Link from "next/link"
import { loadCurrentUser } from "app/users/currentUser"

export default async function HomePage() {
  const user = await loadCurrentUser()
  if (!user) {
    return (
      <section>
        <h1>Welcome</h1>
        <p>
          <Link href="/login">Log in</Link> or <Link href="/signup">create an account</Link>.
        </p>
      </section>
    )
  }
  return (
    <section>
      <h1>Home</h1>
      <p data-testid="signed-in-as">
        Signed in as {user.name} ({user.email}), role {user.role}.
      </p>
      {user.impersonator && (
        <p>
          This session is an impersonation by {user.impersonator.name} ({user.impersonator.email}).
        </p>
      )}
    </section>
  )
}

import { redirect } from "next/navigation"
import { LoginForm } from "app/auth/components/LoginForm"
import { loadCurrentUser } from "app/users/currentUser"

export default async function LoginPage() {
  if (await loadCurrentUser()) redirect("/")
  return (
    <section className="narrow">
      <h1>Log in</h1>
      <LoginForm />
    </section>
  )
}

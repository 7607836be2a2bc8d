import { redirect } from "next/navigation"
import { SignupForm } from "app/auth/components/SignupForm"
import { loadCurrentUser } from "app/users/currentUser"

export default async function SignupPage() {
  if (await loadCurrentUser()) redirect("/")
  return (
    <section className="narrow">
      <h1>Sign up</h1>
      <SignupForm />
    </section>
  )
}

import { redirect } from "next/navigation"

/** The Account page became Settings (profile, organizations, password, email, API keys, sessions); old links land there. */
export default function AccountPage() {
  redirect("/settings")
}

import { redirect } from "next/navigation"
import { loadCurrentUser } from "app/users/currentUser"
import { ProjectsList } from "./components/ProjectsList"

export default async function ProjectsPage() {
  const user = await loadCurrentUser()
  if (!user) redirect("/login")
  return (
    <section className="wide">
      <h1>Projects</h1>
      <p className="hint">Projects you own or that were shared with you, in your organizations.</p>
      <ProjectsList />
    </section>
  )
}

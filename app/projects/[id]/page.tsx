import { notFound, redirect } from "next/navigation"
import { parseId } from "app/organizations/members"
import { loadCurrentUser } from "app/users/currentUser"
import { ProjectView } from "../components/ProjectView"

export default async function ProjectPage({ params }: { params: Promise<{ id: string }> }) {
  const user = await loadCurrentUser()
  if (!user) redirect("/login")
  const id = parseId((await params).id)
  if (id === null) notFound()
  return (
    <section>
      <ProjectView id={id} />
    </section>
  )
}

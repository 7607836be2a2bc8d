"use client"
import { useQuery } from "@blitzjs/rpc"
import Link from "next/link"
import { useState } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import getProjectOrganizations from "../queries/getProjectOrganizations"
import getProjects from "../queries/getProjects"
import { ArchiveProjectButton } from "./ArchiveProjectButton"
import { CreateProjectForm } from "./CreateProjectForm"
import { LastChange } from "./LastChange"

/** The signed-in user's projects, read through RPC (so an impersonated view is masked and gated). */
export function ProjectsList() {
  const [includeArchived, setIncludeArchived] = useState(false)
  const [projects, { error, isLoading, refetch }] = useQuery(getProjects, { includeArchived })
  const [organizations] = useQuery(getProjectOrganizations, {})

  return (
    <>
      <label className="toggle">
        <input
          type="checkbox"
          checked={includeArchived}
          onChange={(event) => setIncludeArchived(event.target.checked)}
        />{" "}
        Show archived projects
      </label>
      {error ? (
        <p role="alert" className="form-error">
          {errorMessageForPerson(error)}
        </p>
      ) : isLoading || !projects ? (
        <p className="hint">Loading projects…</p>
      ) : projects.length === 0 ? (
        <p>No projects yet.</p>
      ) : (
        <table className="directory">
          <caption className="visually-hidden">Your projects</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Organization</th>
              <th scope="col">Owner</th>
              <th scope="col">Last change</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {projects.map((project) => (
              <tr key={project.id}>
                <td>
                  <Link href={`/projects/${project.id}`}>{project.name}</Link>
                  {project.archivedAt && <span className="hint"> (archived)</span>}
                </td>
                <td>{project.organization.name}</td>
                <td>{project.isOwner ? `${project.owner.name} (you)` : project.owner.name}</td>
                <td>
                  <LastChange project={project} />
                </td>
                <td>
                  {project.isOwner && !project.archivedAt && (
                    <ArchiveProjectButton project={project} onArchived={refetch} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>New project</h2>
      {organizations ? (
        <CreateProjectForm organizations={organizations} onCreated={refetch} />
      ) : (
        <p className="hint">Loading…</p>
      )}
    </>
  )
}

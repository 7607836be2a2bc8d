"use client"
import { useMutation, useQuery } from "@blitzjs/rpc"
import Link from "next/link"
import { useState } from "react"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import renameProject from "../mutations/renameProject"
import shareProject from "../mutations/shareProject"
import type { ProjectDetail } from "../projectData"
import getProject from "../queries/getProject"
import { ProjectNameForm, ShareProjectForm } from "../schemas"
import { ArchiveProjectButton } from "./ArchiveProjectButton"
import { LastChange } from "./LastChange"

function RenameForm({ project, onRenamed }: { project: ProjectDetail; onRenamed: () => unknown }) {
  const [rename] = useMutation(renameProject, { throwOnError: false })
  return (
    <Form
      schema={ProjectNameForm}
      submitText="Rename"
      aria-label="Rename project"
      initialValues={{ name: project.name }}
      onSubmit={async ({ name }) => {
        try {
          await rename({ id: project.id, name })
        } catch (error) {
          return { [FORM_ERROR]: errorMessageForPerson(error) }
        }
        await onRenamed()
      }}
    >
      <LabeledTextField name="name" label="Name" autoComplete="off" />
    </Form>
  )
}

function ShareForm({ project, onShared }: { project: ProjectDetail; onShared: () => unknown }) {
  const [share] = useMutation(shareProject, { throwOnError: false })
  const [done, setDone] = useState<string | null>(null)
  return (
    <>
      <Form
        schema={ShareProjectForm}
        submitText="Share"
        aria-label="Share project"
        initialValues={{ email: "" }}
        onSubmit={async ({ email }, form) => {
          setDone(null)
          try {
            const { sharedWith, email: sent } = await share({ id: project.id, email })
            setDone(
              sent.status === "HELD"
                ? `Shared with ${sharedWith.name}. The email to them is held in the admin's outbox (impersonation).`
                : `Shared with ${sharedWith.name}. They were sent an email.`,
            )
          } catch (error) {
            return { [FORM_ERROR]: errorMessageForPerson(error) }
          }
          await onShared()
          setTimeout(() => form.restart())
        }}
      >
        <LabeledTextField name="email" label="Share with (email)" type="email" autoComplete="off" />
      </Form>
      {done && (
        <p role="status" className="hint">
          {done}
        </p>
      )}
    </>
  )
}

/** One project: who owns it, who it is shared with, who changed it last; rename, share, archive. */
export function ProjectView({ id }: { id: number }) {
  const [project, { error, isLoading, refetch }] = useQuery(getProject, { id }, { retry: false })
  if (error) {
    return (
      <>
        <h1>Project</h1>
        <p role="alert" className="form-error">
          {errorMessageForPerson(error)}
        </p>
        <p>
          <Link href="/projects">Back to projects</Link>
        </p>
      </>
    )
  }
  if (isLoading || !project) return <p className="hint">Loading project…</p>
  return (
    <>
      <p>
        <Link href="/projects">← Projects</Link>
      </p>
      <h1>{project.name}</h1>
      {project.archivedAt && <p className="hint">This project is archived.</p>}
      <dl>
        <dt>Organization</dt>
        <dd>{project.organization.name}</dd>
        <dt>Owner</dt>
        <dd>{project.isOwner ? `${project.owner.name} (you)` : project.owner.name}</dd>
        <dt>Last change</dt>
        <dd>
          <LastChange project={project} />
        </dd>
      </dl>
      <h2>Members</h2>
      {project.members.length === 0 ? (
        <p>Not shared with anyone yet.</p>
      ) : (
        <ul aria-label="Members">
          {project.members.map((member) => (
            <li key={member.id}>
              {member.name} ({member.email})
            </li>
          ))}
        </ul>
      )}
      {!project.archivedAt && (
        <>
          <h2>Rename</h2>
          <RenameForm project={project} onRenamed={refetch} />
          {project.isOwner && (
            <>
              <h2>Share</h2>
              <ShareForm project={project} onShared={refetch} />
              <h2>Archive</h2>
              <p className="hint">An archived project can no longer be renamed or shared.</p>
              <ArchiveProjectButton project={project} onArchived={refetch} />
            </>
          )}
        </>
      )}
    </>
  )
}

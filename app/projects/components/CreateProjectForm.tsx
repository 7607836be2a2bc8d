"use client"
import { useMutation } from "@blitzjs/rpc"
import { Field } from "react-final-form"
import { z } from "zod"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import createProject from "../mutations/createProject"
import type { ProjectOrganization } from "../projectData"
import { projectName } from "../schemas"

const CreateProjectFormSchema = z.object({ name: projectName, organizationId: z.string() })

/** New project: a name, and the organization when the user is in more than one. */
export function CreateProjectForm({
  organizations,
  onCreated,
}: {
  organizations: ProjectOrganization[]
  onCreated: () => unknown
}) {
  const [create] = useMutation(createProject, { throwOnError: false })
  if (organizations.length === 0) {
    return <p className="hint">Join an organization to create projects.</p>
  }
  return (
    <Form
      schema={CreateProjectFormSchema}
      submitText="Create project"
      aria-label="Create project"
      initialValues={{ name: "", organizationId: String(organizations[0]!.id) }}
      onSubmit={async (values, form) => {
        try {
          await create({ name: values.name, organizationId: Number(values.organizationId) })
        } catch (error) {
          return { [FORM_ERROR]: errorMessageForPerson(error) }
        }
        await onCreated()
        // After final-form has finished this submission: an empty form for the next one.
        setTimeout(() => form.restart())
      }}
    >
      <LabeledTextField name="name" label="Project name" autoComplete="off" />
      {organizations.length > 1 ? (
        <div className="field">
          <label htmlFor="organizationId">Organization</label>
          <Field name="organizationId" component="select" id="organizationId">
            {organizations.map((organization) => (
              <option key={organization.id} value={String(organization.id)}>
                {organization.name}
              </option>
            ))}
          </Field>
        </div>
      ) : (
        <p className="hint">In {organizations[0]!.name}.</p>
      )}
    </Form>
  )
}

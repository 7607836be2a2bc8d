import { z } from "zod"
import { email } from "app/auth/schemas"
import { safeText } from "app/core/text"

export const PROJECT_NAME_MAX_LENGTH = 100

// zod's trim() keeps zero-width and other invisible characters: a name must have a visible one.
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u
// Line breaks, tabs and other control characters have no place in a one-line name (or a subject);
// NUL has its own message (safeText).
const CONTROL = /[\u0001-\u001f\u007f-\u009f\u2028\u2029]/u

/** Counted in characters as a person sees them (an emoji is one), not UTF-16 units. */
const characterCount = (value: string) => Array.from(value).length

export const projectName = safeText({ message: "Give the project a name" })
  .trim()
  .min(1, "Give the project a name")
  .refine((value) => value === "" || VISIBLE.test(value), "Give the project a name")
  .refine((value) => !CONTROL.test(value), "A project name must be one line, without control characters")
  .refine(
    (value) => characterCount(value) <= PROJECT_NAME_MAX_LENGTH,
    `A project name must be at most ${PROJECT_NAME_MAX_LENGTH} characters`,
  )

const rowId = (what: string) =>
  z
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be a positive number`)
    .max(2_147_483_647, `${what} is too large`)

export const projectId = rowId("Project ID")

export const GetProjectsInput = z
  .object({ includeArchived: z.boolean({ message: "includeArchived must be true or false" }).optional() })
  .strict()
  .nullish()
export type GetProjectsInput = z.infer<typeof GetProjectsInput>

export const GetProjectInput = z.object({ id: projectId }).strict()

export const CreateProjectInput = z
  .object({ name: projectName, organizationId: rowId("Organization ID").optional() })
  .strict()
export type CreateProjectInput = z.infer<typeof CreateProjectInput>

export const RenameProjectInput = z.object({ id: projectId, name: projectName }).strict()

export const ArchiveProjectInput = z.object({ id: projectId }).strict()

export const ShareProjectInput = z.object({ id: projectId, email }).strict()

/** The forms' own schemas (the page adds the project id). */
export const ProjectNameForm = z.object({ name: projectName })
export const ShareProjectForm = z.object({ email })

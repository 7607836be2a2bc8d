/** The "project shared with you" email (pure, so its wording and limits are unit-tested). */

export const SUBJECT_MAX_LENGTH = 200 // mailers/mailer.ts refuses longer subjects

/** One line of plain text: line breaks, tabs and other control characters become spaces. */
function oneLine(value: string): string {
  return value.replace(/[\p{Cc}\s]+/gu, " ").trim()
}

function subjectFor(ownerName: string, projectName: string) {
  return `${ownerName} shared the project "${projectName}" with you`
}

/** `<Owner> shared the project "<name>" with you`, the name shortened with "…" if it would not fit. */
export function shareSubject(ownerName: string, projectName: string): string {
  const owner = oneLine(ownerName)
  const name = oneLine(projectName)
  const full = subjectFor(owner, name)
  if (full.length <= SUBJECT_MAX_LENGTH) return full
  const characters = Array.from(name)
  while (characters.length > 0) {
    characters.pop()
    const shortened = subjectFor(owner, `${characters.join("").trimEnd()}…`)
    if (shortened.length <= SUBJECT_MAX_LENGTH) return shortened
  }
  return subjectFor(owner, "…").slice(0, SUBJECT_MAX_LENGTH)
}

export function shareText(input: {
  recipientName: string
  ownerName: string
  projectName: string
  organizationName: string
  link: string
}): string {
  return [
    `Hello ${oneLine(input.recipientName)},`,
    "",
    `${oneLine(input.ownerName)} shared the project "${input.projectName}" in ${oneLine(input.organizationName)} with you.`,
    "",
    `Open it: ${input.link}`,
    "",
  ].join("\n")
}

/**
 * The project's page: absolute only with APP_ORIGIN. Never from the request's Host header, which a
 * sender could set to point the recipient at another site.
 */
export function projectLink(origin: string | null, projectId: number): string {
  return `${origin ?? ""}/projects/${projectId}`
}

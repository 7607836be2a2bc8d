import { describe, expect, it } from "vitest"
import { OutgoingEmail } from "mailers/mailer"
import { SUBJECT_MAX_LENGTH, projectLink, shareSubject, shareText } from "./shareEmail"

describe("the project-shared email", () => {
  it("names the owner and the project in the subject", () => {
    expect(shareSubject("Uma User", "Website redesign")).toBe('Uma User shared the project "Website redesign" with you')
  })

  it("keeps the subject on one line whatever the owner's name holds", () => {
    expect(shareSubject("Uma\nUser\t", "Plan")).toBe('Uma User shared the project "Plan" with you')
  })

  it("shortens a long name (in whole characters) so the subject fits the mailer's limit", () => {
    const owner = "O".repeat(100)
    for (const name of ["n".repeat(100), "🚀".repeat(100)]) {
      const subject = shareSubject(owner, name)
      expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH)
      expect(subject).toMatch(/^O{100} shared the project ".+…" with you$/u)
      expect(subject).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/) // no emoji cut in half
      expect(() => OutgoingEmail.parse({ to: "a@example.com", subject, text: "x" })).not.toThrow()
    }
  })

  it("links to the project's page, absolute when the origin is known", () => {
    expect(projectLink(null, 7)).toBe("/projects/7")
    expect(projectLink("https://support.example.com", 7)).toBe("https://support.example.com/projects/7")
    const text = shareText({
      recipientName: "Pat",
      ownerName: "Uma",
      projectName: "Plan",
      organizationName: "Umbrella",
      link: "/projects/7",
    })
    expect(text).toContain('Uma shared the project "Plan" in Umbrella with you.')
    expect(text).toContain("Open it: /projects/7")
  })
})

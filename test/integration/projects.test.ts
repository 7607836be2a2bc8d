import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { SecurePassword } from "@blitzjs/auth/secure-password"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import db from "db"
import { serverConfig } from "app/core/serverConfig"
import type { ProjectDetail, ProjectSummary } from "app/projects/projectData"
import type { ShareProjectResult } from "app/projects/mutations/shareProject"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createOrganization, createUser } from "test/helpers/fixtures"
import { signIn } from "test/helpers/session"

/**
 * The Projects feature through the real RPC route: create, list, rename, archive and share,
 * their refusals (which change nothing), who changed a project last, and the "project shared
 * with you" email (delivered outside an impersonation, held during one).
 */

type Person = { id: number; name: string; email: string }

const mail = serverConfig.mail
const savedMail = { ...mail }
let previewDir = ""

beforeEach(() => {
  previewDir = fs.mkdtempSync(path.join(os.tmpdir(), "projects-mail-"))
  mail.smtpUrl = null
  mail.previewDir = previewDir
})
afterEach(() => {
  Object.assign(mail, savedMail)
  fs.rmSync(previewDir, { recursive: true, force: true })
})

/** An organization with its owner-to-be and a teammate, and an outsider in another one. */
async function team() {
  const organization = await createOrganization("projects")
  const other = await createOrganization("elsewhere")
  const owner = await createUser({ label: "owner", organization: { id: organization.id, role: "MEMBER" } })
  const teammate = await createUser({ label: "teammate", organization: { id: organization.id, role: "MEMBER" } })
  const outsider = await createUser({ label: "outsider", organization: { id: other.id, role: "MEMBER" } })
  return { organization, other, owner, teammate, outsider }
}

async function create(browser: TestBrowser, input: { name: string; organizationId?: number }) {
  const res = await browser.rpc<ProjectSummary>("createProject", input)
  expect(res.error).toBeNull()
  return res.result!
}

async function listed(browser: TestBrowser, includeArchived = false) {
  const res = await browser.rpc<ProjectSummary[]>("getProjects", { includeArchived })
  expect(res.error).toBeNull()
  return res.result!
}

/** A header of a raw message as a person reads it: unfolded, RFC 2047 encoded words decoded. */
function header(raw: string, name: string): string | null {
  const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, " ")
  const value = head.match(new RegExp(`^${name}: (.*)$`, "mi"))?.[1]
  if (value === undefined) return null
  return value
    .replace(/\?=\s+=\?/g, "?==?") // whitespace between encoded words is not part of the text
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_word, encoding: string, text: string) =>
      encoding.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : Buffer.from(
            text.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_hex, code: string) => String.fromCharCode(parseInt(code, 16))),
            "latin1",
          ).toString("utf8"),
    )
}

const ids = (projects: Array<{ id: number }>) => projects.map((project) => project.id)
const ref = (person: Person) => ({ id: person.id, name: person.name })

/** Every stored trace of a project, to show a refusal left all of it as it was. */
async function snapshot(projectId: number) {
  const [project, members, outbox] = await Promise.all([
    db.project.findUnique({ where: { id: projectId } }),
    db.projectMember.findMany({ where: { projectId }, orderBy: { userId: "asc" } }),
    db.outboxMessage.count(),
  ])
  return { project, members, outbox }
}

describe("createProject and getProjects", () => {
  it("creates in the user's first organization by default, lists it, and records who created it", async () => {
    const { organization, owner } = await team()
    const second = await createOrganization("second")
    await db.membership.create({ data: { organizationId: second.id, userId: owner.id, role: "MEMBER" } })
    const browser = await signIn(owner)

    const created = await create(browser, { name: "  Website redesign  " })
    expect(created).toMatchObject({
      name: "Website redesign",
      archivedAt: null,
      organization: { id: organization.id, name: organization.name },
      owner: ref(owner),
      isOwner: true,
      changedBy: ref(owner),
      changedByActor: null,
    })
    const row = await db.project.findUniqueOrThrow({ where: { id: created.id } })
    expect(row).toMatchObject({ ownerId: owner.id, organizationId: organization.id, changedById: owner.id, changedByActorId: null })

    const inSecond = await create(browser, { name: "Second org project", organizationId: second.id })
    expect(inSecond.organization).toEqual({ id: second.id, name: second.name })

    // Newest first.
    expect(ids(await listed(browser))).toEqual([inSecond.id, created.id])
    const one = await browser.rpc<ProjectDetail>("getProject", { id: created.id })
    expect(one.error).toBeNull()
    expect(one.result).toMatchObject({ id: created.id, name: "Website redesign", members: [], changedBy: ref(owner) })

    const organizations = await browser.rpc<Array<{ id: number; name: string }>>("getProjectOrganizations", {})
    expect(organizations.result).toEqual([
      { id: organization.id, name: organization.name },
      { id: second.id, name: second.name },
    ])
  })

  it("refuses an organization the user is not in, and a user in none, creating nothing", async () => {
    const { other, owner } = await team()
    const loner = await createUser({ label: "loner" })
    const before = await db.project.count()

    const outsiderOrg = await (await signIn(owner)).rpc("createProject", { name: "Sneaky", organizationId: other.id })
    expect(outsiderOrg.error).toMatchObject({
      name: "AuthorizationError",
      statusCode: 403,
      message: "You can only create projects in an organization you belong to",
    })
    const missingOrg = await (await signIn(owner)).rpc("createProject", { name: "Sneaky", organizationId: 2_000_000_000 })
    expect(missingOrg.error?.message).toBe("You can only create projects in an organization you belong to")
    const noOrg = await (await signIn(loner)).rpc("createProject", { name: "Mine" })
    expect(noOrg.error).toMatchObject({ statusCode: 403, message: "Join an organization before creating a project" })
    expect(await db.project.count()).toBe(before)
  })

  it.each([
    ["an empty name", "", "name: Give the project a name"],
    ["only spaces", "    ", "name: Give the project a name"],
    ["only invisible characters", "\u200b\u200b", "name: Give the project a name"],
    ["a line break", "Line one\nline two", "name: A project name must be one line, without control characters"],
    ["a line separator", "One\u2028two", "name: A project name must be one line, without control characters"],
    ["a NUL character", "Bad\u0000name", "name: must not contain NUL characters or broken Unicode"],
    ["101 characters", "x".repeat(101), "name: A project name must be at most 100 characters"],
    ["a number", 42, "name: Give the project a name"],
  ])("refuses %s with a clear message and creates nothing", async (_label, name, message) => {
    const { owner } = await team()
    const browser = await signIn(owner)
    const before = await db.project.count()
    const res = await browser.rpc("createProject", { name })
    expect(res.error).toMatchObject({ name: "InputValidationError", statusCode: 400, message })
    expect(await db.project.count()).toBe(before)
  })

  it("counts characters as a person sees them: 100 emoji are a valid name", async () => {
    const { owner } = await team()
    const created = await create(await signIn(owner), { name: "🚀".repeat(100) })
    expect(Array.from(created.name)).toHaveLength(100)
  })

  it("lists what the user owns or was shared, in their organizations only, archived ones on request", async () => {
    const { organization, owner, teammate, outsider } = await team()
    const ownerBrowser = await signIn(owner)
    const teammateBrowser = await signIn(teammate)
    const mine = await create(ownerBrowser, { name: "Mine" })
    const shared = await create(ownerBrowser, { name: "Shared with teammate" })
    const teammates = await create(teammateBrowser, { name: "Teammate's own" })
    await db.projectMember.create({ data: { projectId: shared.id, userId: teammate.id } })

    expect(ids(await listed(ownerBrowser))).toEqual([shared.id, mine.id])
    const forTeammate = await listed(teammateBrowser)
    expect(ids(forTeammate)).toEqual([teammates.id, shared.id])
    expect(forTeammate.find((p) => p.id === shared.id)).toMatchObject({ isOwner: false, owner: ref(owner) })
    expect(await listed(await signIn(outsider))).toEqual([])

    await ownerBrowser.rpc("archiveProject", { id: mine.id })
    expect(ids(await listed(ownerBrowser))).toEqual([shared.id])
    expect(ids(await listed(ownerBrowser, true))).toEqual([shared.id, mine.id])
    expect(await ownerBrowser.rpc("getProjects", null)).toMatchObject({ error: null })

    // Leaving the organization hides its projects, even a shared one.
    await db.membership.delete({ where: { organizationId_userId: { organizationId: organization.id, userId: teammate.id } } })
    expect(await listed(teammateBrowser)).toEqual([])
    const gone = await teammateBrowser.rpc("getProject", { id: shared.id })
    expect(gone.error).toMatchObject({ name: "NotFoundError", statusCode: 404, message: "Project not found" })
  })
})

describe("getProject, renameProject and archiveProject", () => {
  it("lets the owner and a member it was shared with rename it, recording who did", async () => {
    const { owner, teammate } = await team()
    const ownerBrowser = await signIn(owner)
    const project = await create(ownerBrowser, { name: "Draft" })
    await db.projectMember.create({ data: { projectId: project.id, userId: teammate.id } })

    const byOwner = await ownerBrowser.rpc<ProjectSummary>("renameProject", { id: project.id, name: " Launch plan " })
    expect(byOwner.error).toBeNull()
    expect(byOwner.result).toMatchObject({ name: "Launch plan", changedBy: ref(owner), changedByActor: null })

    const teammateBrowser = await signIn(teammate)
    const byTeammate = await teammateBrowser.rpc<ProjectSummary>("renameProject", { id: project.id, name: "Launch plan v2" })
    expect(byTeammate.error).toBeNull()
    expect(byTeammate.result).toMatchObject({ name: "Launch plan v2", changedBy: ref(teammate), changedByActor: null, isOwner: false })
    expect(await db.project.findUniqueOrThrow({ where: { id: project.id } })).toMatchObject({
      name: "Launch plan v2",
      changedById: teammate.id,
      changedByActorId: null,
    })
    const detail = await teammateBrowser.rpc<ProjectDetail>("getProject", { id: project.id })
    expect(detail.result).toMatchObject({ owner: ref(owner), members: [{ ...ref(teammate), email: teammate.email }] })
  })

  it("answers NotFound for someone else's project, in the same organization or not, and changes nothing", async () => {
    const { owner, teammate, outsider } = await team()
    const project = await create(await signIn(owner), { name: "Private" })
    const before = await snapshot(project.id)
    for (const stranger of [teammate, outsider]) {
      const browser = await signIn(stranger)
      for (const [resolver, input] of [
        ["getProject", { id: project.id }],
        ["renameProject", { id: project.id, name: "Taken over" }],
        ["archiveProject", { id: project.id }],
        ["shareProject", { id: project.id, email: stranger.email }],
      ] as const) {
        const res = await browser.rpc(resolver, input)
        expect(res.error, `${resolver} by ${stranger.email}`).toMatchObject({
          name: "NotFoundError",
          statusCode: 404,
          code: "PROJECT_NOT_FOUND",
          message: "Project not found",
        })
      }
    }
    const missing = await (await signIn(owner)).rpc("getProject", { id: 2_000_000_000 })
    expect(missing.error?.message).toBe("Project not found")
    expect(await snapshot(project.id)).toEqual(before)
  })

  it("refuses a bad new name with a clear message and keeps the old one", async () => {
    const { owner } = await team()
    const browser = await signIn(owner)
    const project = await create(browser, { name: "Keep me" })
    const before = await snapshot(project.id)
    for (const [name, message] of [
      ["   ", "name: Give the project a name"],
      ["y".repeat(101), "name: A project name must be at most 100 characters"],
    ]) {
      const res = await browser.rpc("renameProject", { id: project.id, name })
      expect(res.error).toMatchObject({ name: "InputValidationError", statusCode: 400, message })
    }
    const badId = await browser.rpc("renameProject", { id: -1, name: "Fine" })
    expect(badId.error?.message).toBe("id: Project ID must be a positive number")
    expect(await snapshot(project.id)).toEqual(before)
  })

  it("archives for the owner only; an archived project cannot be renamed", async () => {
    const { owner, teammate } = await team()
    const ownerBrowser = await signIn(owner)
    const project = await create(ownerBrowser, { name: "Old idea" })
    await db.projectMember.create({ data: { projectId: project.id, userId: teammate.id } })

    const byTeammate = await (await signIn(teammate)).rpc("archiveProject", { id: project.id })
    expect(byTeammate.error).toMatchObject({
      name: "AuthorizationError",
      statusCode: 403,
      code: "NOT_PROJECT_OWNER",
      message: "Only the project's owner can archive it",
    })
    expect((await db.project.findUniqueOrThrow({ where: { id: project.id } })).archivedAt).toBeNull()

    const archived = await ownerBrowser.rpc<ProjectSummary>("archiveProject", { id: project.id })
    expect(archived.error).toBeNull()
    expect(archived.result!.archivedAt).toBeInstanceOf(Date)
    expect(archived.result).toMatchObject({ changedBy: ref(owner), changedByActor: null })
    const before = await snapshot(project.id)

    // Again: nothing changes.
    const again = await ownerBrowser.rpc<ProjectSummary>("archiveProject", { id: project.id })
    expect(again.result!.archivedAt).toEqual(archived.result!.archivedAt)

    for (const browser of [ownerBrowser, await signIn(teammate)]) {
      const rename = await browser.rpc("renameProject", { id: project.id, name: "Revived" })
      expect(rename.error).toMatchObject({
        name: "ProjectConflictError",
        statusCode: 409,
        code: "PROJECT_ARCHIVED",
        message: "This project is archived: it cannot be renamed",
      })
    }
    const share = await ownerBrowser.rpc("shareProject", { id: project.id, email: teammate.email })
    expect(share.error).toMatchObject({ code: "PROJECT_ARCHIVED", message: "This project is archived: it cannot be shared" })
    expect(await snapshot(project.id)).toEqual(before)
  })
})

describe("shareProject", () => {
  it("shares with another member of the organization and delivers the email to them", async () => {
    const { owner, teammate } = await team()
    const ownerBrowser = await signIn(owner)
    const project = await create(ownerBrowser, { name: "Quarterly report" })

    const res = await ownerBrowser.rpc<ShareProjectResult>("shareProject", {
      id: project.id,
      email: `  ${teammate.email.toUpperCase()} `,
    })
    expect(res.error).toBeNull()
    const subject = `${owner.name} shared the project "Quarterly report" with you`
    expect(res.result).toMatchObject({
      sharedWith: { id: teammate.id, name: teammate.name, email: teammate.email },
      email: { status: "SENT" },
      project: { id: project.id, members: [{ id: teammate.id }], changedBy: ref(owner), changedByActor: null },
    })
    expect(await db.projectMember.findMany({ where: { projectId: project.id } })).toMatchObject([
      { userId: teammate.id, changedByActorId: null },
    ])
    expect(await db.project.findUniqueOrThrow({ where: { id: project.id } })).toMatchObject({ changedById: owner.id, changedByActorId: null })

    const message = await db.outboxMessage.findUniqueOrThrow({ where: { id: res.result!.email.id } })
    expect(message).toMatchObject({
      status: "SENT",
      to: teammate.email,
      subject,
      impersonationId: null,
      actorId: null,
      attempts: 1,
    })
    expect(message.sentAt).toBeInstanceOf(Date)
    expect(message.text).toContain(`/projects/${project.id}`)
    const files = fs.readdirSync(previewDir).filter((name) => name.endsWith(".eml"))
    expect(files).toHaveLength(1)
    const eml = fs.readFileSync(path.join(previewDir, files[0]!), "utf8")
    expect(header(eml, "To")).toBe(teammate.email)
    expect(header(eml, "Subject")).toBe(subject)
    expect(eml.replace(/=\r?\n/g, "")).toContain(`/projects/${project.id}`)

    // The teammate now sees it.
    expect(ids(await listed(await signIn(teammate)))).toEqual([project.id])
  })

  it("refuses a second share, the owner, a non-member, an outsider and a member who is not the owner", async () => {
    const { owner, teammate, outsider } = await team()
    const ownerBrowser = await signIn(owner)
    const project = await create(ownerBrowser, { name: "Sharing rules" })
    expect((await ownerBrowser.rpc("shareProject", { id: project.id, email: teammate.email })).error).toBeNull()
    const before = await snapshot(project.id)

    const third = await createUser({ label: "third", organization: { id: project.organization.id, role: "MEMBER" } })
    const cases: Array<[TestBrowser, { id: number; email: string }, Record<string, unknown>]> = [
      [ownerBrowser, { id: project.id, email: teammate.email }, {
        statusCode: 409, code: "ALREADY_SHARED", message: `This project is already shared with ${teammate.name}`,
      }],
      [ownerBrowser, { id: project.id, email: owner.email }, {
        statusCode: 409, code: "SHARE_WITH_OWNER", message: "You own this project: share it with someone else",
      }],
      [ownerBrowser, { id: project.id, email: outsider.email }, {
        statusCode: 404, code: "NOT_AN_ORGANIZATION_MEMBER",
        message: `No member of ${project.organization.name} has the email ${outsider.email}`,
      }],
      [ownerBrowser, { id: project.id, email: "nobody-at-all@fixture.example" }, {
        statusCode: 404, code: "NOT_AN_ORGANIZATION_MEMBER",
      }],
      [ownerBrowser, { id: project.id, email: "not an email" }, {
        statusCode: 400, name: "InputValidationError", message: "email: Enter a valid email address",
      }],
      [await signIn(teammate), { id: project.id, email: third.email }, {
        statusCode: 403, code: "NOT_PROJECT_OWNER", message: "Only the project's owner can share it",
      }],
    ]
    for (const [browser, input, error] of cases) {
      const res = await browser.rpc("shareProject", input)
      expect(res.error, input.email).toMatchObject(error)
    }
    expect(await snapshot(project.id)).toEqual(before)
    expect(fs.readdirSync(previewDir)).toHaveLength(1) // the first share's email only
  })
})

describe("during an impersonation", () => {
  /** SUPPORT impersonates the owner read-only (the normal start), then the row is made read-write. */
  async function impersonateOwner(owner: Person, mode: "READ_ONLY" | "READ_WRITE") {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const browser = await signIn(support)
    const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
      userId: owner.id,
      reason: "Ticket 31: project name looks wrong",
    })
    expect(started.error).toBeNull()
    const impersonationId = started.result!.impersonationId
    if (mode === "READ_WRITE") await db.impersonation.update({ where: { id: impersonationId }, data: { mode } })
    return { support, browser, impersonationId }
  }

  it("read-only: a rename is refused with the read-only message and changes nothing", async () => {
    const { owner } = await team()
    const project = await create(await signIn(owner), { name: "Untouched" })
    const before = await snapshot(project.id)
    const { browser } = await impersonateOwner(owner, "READ_ONLY")
    expect(ids(await listed(browser))).toEqual([project.id]) // queries work
    const res = await browser.rpc("renameProject", { id: project.id, name: "Changed by support" })
    expect(res.error).toMatchObject({
      code: "IMPERSONATION_READ_ONLY",
      message: "Read-only impersonation: this action is not allowed",
    })
    expect(await snapshot(project.id)).toEqual(before)
  })

  it("read-write: the rename records the admin as actor and the user as author; the user's own rename clears the actor", async () => {
    const { owner } = await team()
    const ownerBrowser = await signIn(owner)
    const project = await create(ownerBrowser, { name: "Needs a fix" })
    const { support, browser } = await impersonateOwner(owner, "READ_WRITE")

    const renamed = await browser.rpc<ProjectSummary>("renameProject", { id: project.id, name: "Fixed by support" })
    expect(renamed.error).toBeNull()
    expect(renamed.result).toMatchObject({
      name: "Fixed by support",
      changedBy: ref(owner),
      changedByActor: ref(support),
    })
    expect(await db.project.findUniqueOrThrow({ where: { id: project.id } })).toMatchObject({
      name: "Fixed by support",
      changedById: owner.id,
      changedByActorId: support.id,
    })
    // The owner sees who did it, on the list and the project page.
    expect((await listed(ownerBrowser))[0]).toMatchObject({ changedBy: ref(owner), changedByActor: ref(support) })
    const page = await ownerBrowser.rpc<ProjectDetail>("getProject", { id: project.id })
    expect(page.result).toMatchObject({ changedByActor: ref(support) })

    const own = await ownerBrowser.rpc<ProjectSummary>("renameProject", { id: project.id, name: "Fixed, thanks" })
    expect(own.result).toMatchObject({ changedBy: ref(owner), changedByActor: null })
    expect(await db.project.findUniqueOrThrow({ where: { id: project.id } })).toMatchObject({
      changedById: owner.id,
      changedByActorId: null,
    })
  })

  it("read-write: sharing holds the email in the admin's outbox and delivers nothing", async () => {
    const { owner, teammate } = await team()
    const project = await create(await signIn(owner), { name: "Shared by support" })
    const { support, browser, impersonationId } = await impersonateOwner(owner, "READ_WRITE")

    const res = await browser.rpc<ShareProjectResult>("shareProject", { id: project.id, email: teammate.email })
    expect(res.error).toBeNull()
    expect(res.result!.email.status).toBe("HELD")
    expect(await db.outboxMessage.findUniqueOrThrow({ where: { id: res.result!.email.id } })).toMatchObject({
      status: "HELD",
      to: teammate.email,
      subject: `${owner.name} shared the project "Shared by support" with you`,
      impersonationId,
      actorId: support.id,
      subjectId: owner.id,
      sentAt: null,
    })
    expect(await db.projectMember.findMany({ where: { projectId: project.id } })).toMatchObject([
      { userId: teammate.id, changedByActorId: support.id },
    ])
    expect(fs.readdirSync(previewDir)).toEqual([])
  })
})

describe("the demo seed", () => {
  it("gives Uma projects, one shared with her teammate Pat, and a second run adds nothing", async () => {
    const { seed } = await import("db/seeds")
    const { DEMO_PROJECTS } = await import("db/demoProjects")
    await seed()
    const counts = async () => ({ projects: await db.project.count(), members: await db.projectMember.count() })
    const first = await counts()
    await seed()
    expect(await counts()).toEqual(first)

    const uma = await db.user.findUniqueOrThrow({ where: { email: "user@example.com" } })
    const pat = await db.user.findUniqueOrThrow({ where: { email: "pat@example.com" } })
    // Another file (sign-in) may have changed the demo passwords in a shared PostgreSQL database.
    await db.user.update({ where: { id: uma.id }, data: { hashedPassword: await SecurePassword.hash(PASSWORD) } })
    const browser = new TestBrowser()
    try {
      await browser.login(uma.email, PASSWORD)
    } finally {
      // As the seed left it: other files count the demo accounts still on the demo password.
      await db.user.update({ where: { id: uma.id }, data: { hashedPassword: uma.hashedPassword } })
    }
    const projects = await listed(browser)
    expect(projects.map((p) => p.name).sort()).toEqual(
      DEMO_PROJECTS.filter((p) => p.owner === uma.email || p.sharedWith.includes(uma.email))
        .map((p) => p.name)
        .sort(),
    )
    for (const project of projects) expect(project.organization.name).toBe("Umbrella")
    const redesign = projects.find((p) => p.name === "Website redesign")!
    expect(redesign).toMatchObject({ isOwner: true, changedBy: ref(uma), changedByActor: null })
    const detail = await browser.rpc<ProjectDetail>("getProject", { id: redesign.id })
    expect(detail.result!.members).toEqual([{ id: pat.id, name: pat.name, email: pat.email }])
  })
})

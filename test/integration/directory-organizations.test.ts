import { describe, expect, it } from "vitest"
import db from "db"
import { REFUSAL_MESSAGES } from "app/impersonation/policy"
import { MEMBERS_PAGE_SIZE, loadOrganizationPage, parseId } from "app/organizations/members"
import { createOrganization, createUser } from "test/helpers/fixtures"

async function acmeLike() {
  const organization = await createOrganization("orgpage")
  const owner = await createUser({ label: "orgpage-owner", organization: { id: organization.id, role: "OWNER" } })
  const admin = await createUser({ label: "orgpage-admin", organization: { id: organization.id, role: "ADMIN" } })
  const member = await createUser({ label: "orgpage-member", organization: { id: organization.id, role: "MEMBER" } })
  return { organization, owner, admin, member }
}

const page = (viewerId: number, organizationId: number | null, more: { impersonating?: boolean } = {}) =>
  loadOrganizationPage({ viewerId, organizationId, impersonating: more.impersonating ?? false })

describe("organization page access", () => {
  it("shows an admin the members with Impersonate where the policy allows it", async () => {
    const { organization, owner, admin, member } = await acmeLike()
    const view = await page(admin.id, organization.id)
    expect(view).toMatchObject({
      organization: { id: organization.id, name: organization.name },
      viewerRole: "ADMIN",
      mayImpersonateHere: true,
      previousCursor: null,
      nextCursor: null,
    })
    expect(view!.members.map((m) => [m.email, m.role, m.eligibility])).toEqual([
      [owner.email, "OWNER", { allowed: false, code: "ORG_ROLE_NOT_LOWER", message: REFUSAL_MESSAGES.ORG_ROLE_NOT_LOWER }],
      [admin.email, "ADMIN", { allowed: false, code: "SELF", message: REFUSAL_MESSAGES.SELF }],
      [member.email, "MEMBER", { allowed: true }],
    ])
    expect(view!.members[2]).toMatchObject({ userId: member.id, name: member.name })
    const byOwner = await page(owner.id, organization.id)
    expect(byOwner!.members.map((m) => m.eligibility?.allowed)).toEqual([false, true, true])
  })

  it("shows a plain member the page without any Impersonate", async () => {
    const { organization, member } = await acmeLike()
    const view = await page(member.id, organization.id)
    expect(view).toMatchObject({ viewerRole: "MEMBER", mayImpersonateHere: false })
    expect(view!.members).toHaveLength(3)
    expect(view!.members.every((m) => m.eligibility === null)).toBe(true)
  })

  it("gives outsiders, unknown ids, bad ids and disabled viewers nothing (the page answers 404)", async () => {
    const { organization } = await acmeLike()
    const other = await createOrganization("orgpage-other")
    const outsider = await createUser({ label: "orgpage-outsider", organization: { id: other.id, role: "OWNER" } })
    const nobody = await createUser({ label: "orgpage-nobody" })
    const disabled = await createUser({
      label: "orgpage-disabled",
      status: "DISABLED",
      organization: { id: organization.id, role: "OWNER" },
    })
    expect(await page(outsider.id, organization.id)).toBeNull()
    expect(await page(nobody.id, organization.id)).toBeNull()
    expect(await page(disabled.id, organization.id)).toBeNull()
    expect(await page(outsider.id, 2_000_000_000)).toBeNull()
    expect(await page(outsider.id, null)).toBeNull()
    for (const raw of ["abc", "0", "-1", "1.5", "1e3", "2147483648", "99999999999", " 1", "", undefined, ["1"]]) {
      expect(parseId(raw)).toBeNull()
    }
    expect(parseId("42")).toBe(42)
    expect(parseId("2147483647")).toBe(2_147_483_647)
  })

  it("lets platform staff see any organization, with Impersonate per the policy", async () => {
    const { organization, owner, member } = await acmeLike()
    const support = await createUser({ label: "orgpage-support", role: "SUPPORT" })
    const view = await page(support.id, organization.id)
    expect(view).toMatchObject({ viewerRole: null, mayImpersonateHere: true })
    expect(view!.members.find((m) => m.userId === owner.id)!.eligibility).toEqual({ allowed: true })
    expect(view!.members.find((m) => m.userId === member.id)!.eligibility).toEqual({ allowed: true })
  })

  it("offers no Impersonate inside an impersonation (never nested)", async () => {
    const { organization, admin } = await acmeLike()
    const view = await page(admin.id, organization.id, { impersonating: true })
    expect(view).toMatchObject({ viewerRole: "ADMIN", mayImpersonateHere: false })
    expect(view!.members.every((m) => m.eligibility === null)).toBe(true)
  })

  it("pages the members with Next and Previous", async () => {
    const { organization, admin } = await acmeLike()
    await db.user.createMany({
      data: Array.from({ length: MEMBERS_PAGE_SIZE }, (_, i) => ({
        email: `orgpage-${organization.id}-${i}@members.example`,
        name: `Paged ${i}`,
      })),
    })
    const added = await db.user.findMany({ where: { email: { startsWith: `orgpage-${organization.id}-` } } })
    await db.membership.createMany({
      data: added.map((user) => ({ userId: user.id, organizationId: organization.id, role: "MEMBER" as const })),
    })
    const first = await page(admin.id, organization.id)
    expect(first!.members).toHaveLength(MEMBERS_PAGE_SIZE)
    expect(first!.previousCursor).toBeNull()
    const second = await loadOrganizationPage({
      viewerId: admin.id,
      organizationId: organization.id,
      impersonating: false,
      after: first!.nextCursor,
    })
    expect(second!.members).toHaveLength(3)
    expect(second!.nextCursor).toBeNull()
    const all = [...first!.members, ...second!.members].map((m) => m.userId)
    expect(new Set(all).size).toBe(MEMBERS_PAGE_SIZE + 3)
    const back = await loadOrganizationPage({
      viewerId: admin.id,
      organizationId: organization.id,
      impersonating: false,
      before: second!.previousCursor,
    })
    expect(back!.members.map((m) => m.userId)).toEqual(first!.members.map((m) => m.userId))
    expect(back!.previousCursor).toBeNull()
  })
})

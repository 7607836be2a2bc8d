import { describe, expect, it } from "vitest"
import { ZodError } from "zod"
import db, { Prisma } from "db"
import {
  DirectoryQuery,
  directoryPageSql,
  directoryQueryFromSearchParams,
  searchDirectory,
  type DirectoryPage,
} from "app/admin/directory"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import { REFUSAL_MESSAGES, type PolicyUser } from "app/impersonation/policy"
import { createOrganization, createUser, uniqueTag } from "test/helpers/fixtures"

async function policyUser(id: number): Promise<PolicyUser> {
  return toPolicyUser(await db.user.findUniqueOrThrow({ where: { id }, ...userForPolicy }))
}

async function staff(role: "SUPPORT" | "SUPERADMIN" = "SUPPORT") {
  return policyUser((await createUser({ label: "staff", role })).id)
}

/** Users whose name and email carry `tag` (emails are lower-case, names keep their case). */
async function taggedUsers(tag: string, count: number) {
  const users = []
  for (let i = 0; i < count; i++) {
    users.push(
      await db.user.create({ data: { email: `${tag}-${i}@directory.example`, name: `Dir ${tag} Person ${i}` } }),
    )
  }
  return users
}

/** Every page of a search, following Next from the first page. */
async function walkForward(viewer: PolicyUser, term: string, pageSize: number) {
  const pages: DirectoryPage[] = []
  let after: number | undefined
  for (let guard = 0; guard < 100; guard++) {
    const page = await searchDirectory({ viewer, term, after, pageSize })
    pages.push(page)
    if (page.nextCursor === null) return pages
    after = page.nextCursor
  }
  throw new Error("paging never ended")
}

describe("user directory search", () => {
  it("finds users by a case-insensitive substring of the name or of the email", async () => {
    const viewer = await staff()
    const tag = uniqueTag("CaseMix").toLowerCase()
    const alice = await db.user.create({ data: { email: `${tag}-alice@directory.example`, name: "Alice Zwiebelmeyer" } })
    const bob = await db.user.create({ data: { email: `${tag}-bob@directory.example`, name: `Bob ${tag} Quux` } })

    // Part of the email, in another case than stored.
    const byEmail = await searchDirectory({ viewer, term: `${tag}-ALICE@dIRECTORY` })
    expect(byEmail.rows.map((row) => row.id)).toEqual([alice.id])
    // Part of the name, in another case.
    const byName = await searchDirectory({ viewer, term: "zwiebelMEYER" })
    expect(byName.rows.map((row) => row.id)).toContain(alice.id)
    for (const row of byName.rows) expect(`${row.name} ${row.email}`.toLowerCase()).toContain("zwiebelmeyer")
    // One term matching the name of one user and the email of another finds both, in id order.
    const both = await searchDirectory({ viewer, term: tag.toUpperCase() })
    expect(both.rows.map((row) => row.id)).toEqual([alice.id, bob.id])
    expect(both.rows[1]).toMatchObject({ name: bob.name, email: bob.email, role: "USER", status: "ACTIVE" })
    // Surrounding spaces do not count.
    expect((await searchDirectory({ viewer, term: `  ${tag}-bob  ` })).rows.map((r) => r.id)).toEqual([bob.id])
  })

  it("pages with Next and Previous by id: every match once, no gaps, the same pages both ways", async () => {
    const viewer = await staff()
    const tag = uniqueTag("paging").toLowerCase()
    const users = await taggedUsers(tag, 8)
    const expected = users.map((user) => user.id).sort((a, b) => a - b)

    const forward = await walkForward(viewer, tag, 3)
    expect(forward.map((page) => page.rows.length)).toEqual([3, 3, 2])
    expect(forward.flatMap((page) => page.rows.map((row) => row.id))).toEqual(expected)
    expect(forward[0]!.previousCursor).toBeNull()
    expect(forward.at(-1)!.nextCursor).toBeNull()

    // Previous from the last page goes back through the same pages, then stops.
    const backward: DirectoryPage[] = [forward.at(-1)!]
    let before = forward.at(-1)!.previousCursor
    while (before !== null) {
      const page = await searchDirectory({ viewer, term: tag, before, pageSize: 3 })
      backward.unshift(page)
      before = page.previousCursor
    }
    expect(backward.map((page) => page.rows.map((row) => row.id))).toEqual(
      forward.map((page) => page.rows.map((row) => row.id)),
    )
    // The first page reached by Previous knows there is a next page and no previous one.
    expect(backward[0]!.previousCursor).toBeNull()
    expect(backward[0]!.nextCursor).toBe(expected[2])

    // A user added between page loads appears on its page, no row repeats or goes missing.
    const late = await db.user.create({ data: { email: `${tag}-late@directory.example`, name: "Late" } })
    const again = await walkForward(viewer, tag, 3)
    expect(again.flatMap((page) => page.rows.map((row) => row.id))).toEqual([...expected, late.id])
  })

  it("shows an organization admin only the members of the organizations they administer", async () => {
    const tag = uniqueTag("scope").toLowerCase()
    const [mine, other] = [await createOrganization("mine"), await createOrganization("other")]
    const admin = await db.user.create({
      data: { email: `${tag}-admin@directory.example`, name: "Scope Admin", memberships: { create: { organizationId: mine.id, role: "ADMIN" } } },
    })
    const member = await db.user.create({
      data: { email: `${tag}-member@directory.example`, name: "Scope Member", memberships: { create: { organizationId: mine.id, role: "MEMBER" } } },
    })
    const outsider = await db.user.create({
      data: { email: `${tag}-outsider@directory.example`, name: "Scope Outsider", memberships: { create: { organizationId: other.id, role: "MEMBER" } } },
    })
    const loner = await db.user.create({ data: { email: `${tag}-loner@directory.example`, name: "Scope Loner" } })
    // A member of both sees only the administered organization's name in the org admin's view.
    const both = await db.user.create({
      data: {
        email: `${tag}-both@directory.example`,
        name: "Scope Both",
        memberships: { create: [{ organizationId: mine.id, role: "MEMBER" }, { organizationId: other.id, role: "MEMBER" }] },
      },
    })

    const orgAdmin = await policyUser(admin.id)
    const seen = await searchDirectory({ viewer: orgAdmin, term: tag })
    expect(seen.rows.map((row) => row.id)).toEqual([admin.id, member.id, both.id])
    expect(seen.rows.find((row) => row.id === both.id)!.organizations).toEqual([
      { id: mine.id, name: mine.name, role: "MEMBER" },
    ])
    // Even with no term, nobody outside shows up.
    const everyone = await searchDirectory({ viewer: orgAdmin, pageSize: 100 })
    expect(everyone.rows.map((row) => row.id)).not.toContain(outsider.id)
    expect(everyone.rows.map((row) => row.id)).not.toContain(loner.id)
    for (const row of everyone.rows) expect(row.organizations.map((o) => o.id)).toContain(mine.id)

    // Platform staff see everyone, with all their organizations.
    const platform = await searchDirectory({ viewer: await staff(), term: tag })
    expect(platform.rows.map((row) => row.id)).toEqual([admin.id, member.id, outsider.id, loner.id, both.id])
    expect(platform.rows.find((row) => row.id === both.id)!.organizations.map((o) => o.id)).toEqual(
      [mine.id, other.id].sort((a, b) => a - b),
    )

    // A plain member, and a plain user, see nobody.
    for (const id of [member.id, loner.id]) {
      expect(await searchDirectory({ viewer: await policyUser(id), term: tag })).toEqual({
        rows: [],
        previousCursor: null,
        nextCursor: null,
      })
    }
  })

  it("says for each row whether the viewer may impersonate the user, and why not", async () => {
    const organization = await createOrganization("reasons")
    const orgAdminUser = await createUser({ label: "reasons-admin", organization: { id: organization.id, role: "ADMIN" } })
    const member = await createUser({ label: "reasons-member", organization: { id: organization.id, role: "MEMBER" } })
    const owner = await createUser({ label: "reasons-owner", organization: { id: organization.id, role: "OWNER" } })
    const disabled = await createUser({ label: "reasons-disabled", status: "DISABLED", organization: { id: organization.id, role: "MEMBER" } })
    const optedOut = await createUser({ label: "reasons-optout", impersonationConsent: "NEVER", organization: { id: organization.id, role: "MEMBER" } })
    const support = await createUser({ label: "reasons-support", role: "SUPPORT", organization: { id: organization.id, role: "MEMBER" } })

    const rowsFor = async (viewer: PolicyUser) => {
      const page = await searchDirectory({ viewer, pageSize: 100, term: "reasons-" })
      return new Map(page.rows.map((row) => [row.id, row.eligibility]))
    }
    const byOrgAdmin = await rowsFor(await policyUser(orgAdminUser.id))
    expect(byOrgAdmin.get(member.id)).toEqual({ allowed: true })
    expect(byOrgAdmin.get(orgAdminUser.id)).toEqual({ allowed: false, code: "SELF", message: REFUSAL_MESSAGES.SELF })
    expect(byOrgAdmin.get(owner.id)).toMatchObject({ code: "ORG_ROLE_NOT_LOWER", message: REFUSAL_MESSAGES.ORG_ROLE_NOT_LOWER })
    expect(byOrgAdmin.get(disabled.id)).toMatchObject({ code: "TARGET_DISABLED", message: "This user's account is disabled" })
    expect(byOrgAdmin.get(optedOut.id)).toMatchObject({ code: "TARGET_OPTED_OUT" })
    expect(byOrgAdmin.get(support.id)).toMatchObject({
      code: "TARGET_PRIVILEGED",
      message: "This user is platform staff and cannot be impersonated by you",
    })

    const bySupport = await rowsFor(await policyUser(support.id))
    expect(bySupport.get(member.id)).toEqual({ allowed: true })
    expect(bySupport.get(owner.id)).toEqual({ allowed: true })
    expect(bySupport.get(support.id)).toMatchObject({ code: "SELF" })
    const superadmin = await staff("SUPERADMIN")
    const bySuperadmin = await rowsFor(superadmin)
    expect(bySuperadmin.get(support.id)).toEqual({ allowed: true })
    expect(bySuperadmin.get(disabled.id)).toMatchObject({ code: "TARGET_DISABLED" })
  })

  it("takes %, _ and \\ in the search literally", async () => {
    const viewer = await staff()
    const tag = uniqueTag("wild").toLowerCase()
    const create = (suffix: string) =>
      db.user.create({ data: { email: `${tag}-${Math.random().toString(36).slice(2)}@directory.example`, name: `${tag} ${suffix}` } })
    const percent = await create("50%off")
    const underscore = await create("50_off")
    const backslash = await create("50\\off")
    const plain = await create("50xoff")
    const idsFor = async (term: string) => (await searchDirectory({ viewer, term })).rows.map((row) => row.id)

    expect(await idsFor(`${tag} 50%off`)).toEqual([percent.id])
    expect(await idsFor(`${tag} 50_off`)).toEqual([underscore.id])
    expect(await idsFor(`${tag} 50\\off`)).toEqual([backslash.id])
    expect(await idsFor(`${tag} 50xoff`)).toEqual([plain.id])
    expect(await idsFor(`${tag} 50%`)).toEqual([percent.id])
    expect(await idsFor(`${tag} 50\\`)).toEqual([backslash.id])
  })

  it("refuses bad input and stays harmless with hostile terms", async () => {
    const viewer = await staff()
    await createUser({ label: "hostile" })
    await expect(searchDirectory({ viewer, term: "a\u0000b" })).rejects.toBeInstanceOf(ZodError)
    await expect(searchDirectory({ viewer, term: "x".repeat(101) })).rejects.toBeInstanceOf(ZodError)
    await expect(searchDirectory({ viewer, term: "\ud800" })).rejects.toBeInstanceOf(ZodError)
    await expect(searchDirectory({ viewer, after: 1, before: 5 })).rejects.toBeInstanceOf(ZodError)
    await expect(searchDirectory({ viewer, after: -1 })).rejects.toBeInstanceOf(ZodError)
    await expect(searchDirectory({ viewer, after: 2 ** 31 })).rejects.toBeInstanceOf(ZodError)
    await expect(searchDirectory({ viewer, pageSize: 10_000 })).rejects.toBeInstanceOf(ZodError)
    // SQL in the term is only text to look for.
    const before = await db.user.count()
    expect((await searchDirectory({ viewer, term: `' OR 1=1; DELETE FROM "User"; --` })).rows).toEqual([])
    expect(await db.user.count()).toBe(before)
    // The longest term allowed still answers.
    expect((await searchDirectory({ viewer, term: "y".repeat(100) })).rows).toEqual([])

    // The page's URL: a bad term is refused in words; cursors that are not ids are ignored.
    const nul = directoryQueryFromSearchParams({ q: "bad\u0000term" })
    expect(nul).toEqual({
      ok: false,
      term: "badterm",
      message: "The search must not contain NUL characters or broken Unicode",
    })
    expect(directoryQueryFromSearchParams({ q: "z".repeat(5000) })).toMatchObject({
      ok: false,
      message: "Search for at most 100 characters",
    })
    expect(directoryQueryFromSearchParams({ q: ["first", "second"], after: "abc", before: "12" })).toEqual({
      ok: true,
      query: { term: "first", before: 12, pageSize: 25 },
    })
    for (const after of ["-1", "0", "1e3", "99999999999", "１２"]) {
      expect(directoryQueryFromSearchParams({ after })).toEqual({ ok: true, query: { term: "", pageSize: 25 } })
    }
  })

  it("lets PostgreSQL serve the search from both trigram indexes and paging from the primary key", async () => {
    const viewer = await staff()
    const plan = async (query: DirectoryQuery) => {
      const sql = directoryPageSql(viewer, DirectoryQuery.parse(query))!
      // The test table is small, so the scans a big table would not use are priced out.
      return db.$transaction(async (tx) => {
        await tx.$executeRaw`SET LOCAL enable_seqscan = off`
        if (query.term) await tx.$executeRaw`SET LOCAL enable_indexscan = off`
        const rows = await tx.$queryRaw<Array<{ "QUERY PLAN": string }>>(Prisma.sql`EXPLAIN ${sql}`)
        return rows.map((row) => row["QUERY PLAN"]).join("\n")
      })
    }
    const search = await plan({ term: "needle" })
    expect(search).toContain("User_name_trgm_idx")
    expect(search).toContain("User_email_trgm_idx")
    expect(search).toMatch(/BitmapOr/)
    const deepPage = await plan({ after: 123_456 })
    // The page of users itself (before the per-row memberships sub-plan) needs no sort.
    const usersPart = deepPage.split("SubPlan")[0]!
    expect(usersPart).toMatch(/Index Scan using "User_pkey"/)
    expect(usersPart).not.toMatch(/Sort|Seq Scan/)
  })
})

describe("demo directory seed", () => {
  it("creates a few hundred customers once, and a second run adds nothing", async () => {
    const { seedDemoDirectory, DEMO_DIRECTORY_SIZE, demoCustomer } = await import("db/demoDirectory")
    const customers = { email: { startsWith: "customer-", endsWith: "@example.net" } }
    const first = await seedDemoDirectory()
    const users = await db.user.count({ where: customers })
    const memberships = await db.membership.count({ where: { user: customers } })
    expect(users).toBe(DEMO_DIRECTORY_SIZE)
    expect(first.created).toBeLessThanOrEqual(DEMO_DIRECTORY_SIZE)
    expect(memberships).toBeGreaterThan(DEMO_DIRECTORY_SIZE / 2)
    expect(await seedDemoDirectory()).toEqual({ created: 0 })
    expect(await db.user.count({ where: customers })).toBe(users)
    expect(await db.membership.count({ where: { user: customers } })).toBe(memberships)
    // Rows of every kind for the console to show.
    const sample = await db.user.findUniqueOrThrow({ where: { email: demoCustomer(17 * 5).email } })
    expect(sample.status).toBe("DISABLED")
    expect(sample.hashedPassword).toBeNull()
    expect(await db.user.count({ where: { ...customers, impersonationConsent: "NEVER" } })).toBeGreaterThan(0)
  })
})

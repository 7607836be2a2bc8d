import db from "./index"

/**
 * A few projects for the demo customers, so that support has something real to look at (and
 * to be refused changing): Uma's in Umbrella, one shared with her teammate Pat and one Pat
 * shares with her, and one of Mia's in Acme. Idempotent: a second run adds nothing.
 */
export const DEMO_PROJECTS: Array<{ owner: string; organization: string; name: string; sharedWith: string[] }> = [
  { owner: "user@example.com", organization: "Umbrella", name: "Website redesign", sharedWith: ["pat@example.com"] },
  { owner: "user@example.com", organization: "Umbrella", name: "Checkout flow fixes", sharedWith: [] },
  { owner: "pat@example.com", organization: "Umbrella", name: "Quarterly report", sharedWith: ["user@example.com"] },
  { owner: "member@acme.example", organization: "Acme", name: "Onboarding checklist", sharedWith: [] },
]

const DEMO_PROJECTS_LOCK = 727_436_011

/** Creates the demo projects that are missing (their owners and organizations must exist). */
export async function seedDemoProjects(): Promise<{ created: number }> {
  return db.$transaction(
    async (tx) => {
      // Two seeds at once (two instances on one server) would both find a project missing: one waits.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${DEMO_PROJECTS_LOCK})`
      const emails = [...new Set(DEMO_PROJECTS.flatMap((p) => [p.owner, ...p.sharedWith]))]
      const users = await tx.user.findMany({ where: { email: { in: emails } }, select: { id: true, email: true } })
      const idOf = new Map(users.map((user) => [user.email, user.id]))
      let created = 0
      for (const plan of DEMO_PROJECTS) {
        const ownerId = idOf.get(plan.owner)
        const organization = await tx.organization.findUnique({ where: { name: plan.organization } })
        if (!ownerId || !organization) continue
        const existing = await tx.project.findFirst({ where: { ownerId, name: plan.name }, select: { id: true } })
        const project =
          existing ??
          (await tx.project.create({
            data: { name: plan.name, ownerId, organizationId: organization.id, changedById: ownerId },
            select: { id: true },
          }))
        if (!existing) created++
        const memberIds = plan.sharedWith.flatMap((email) => idOf.get(email) ?? [])
        await tx.projectMember.createMany({
          data: memberIds.map((userId) => ({ projectId: project.id, userId })),
          skipDuplicates: true,
        })
      }
      return { created }
    },
    { maxWait: 10_000, timeout: 30_000 },
  )
}

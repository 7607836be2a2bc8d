import { SecurePassword } from "@blitzjs/auth/secure-password"
import { DEMO_PASSWORD, DEMO_USERS } from "./demoAccounts"
import { seedDemoDirectory } from "./demoDirectory"
import { seedDemoProjects } from "./demoProjects"
import { seedDemoAuditHistory } from "./demoAuditHistory"
import db, { engine } from "./index"
import { closeEmbedded, describeEngine } from "./engine"

export { DEMO_PASSWORD, DEMO_USERS }

/** Creates what is missing and leaves existing rows as they are, so it can run again. */
export async function seed(): Promise<{ created: number }> {
  const hashedPassword = await SecurePassword.hash(DEMO_PASSWORD)
  let created = 0
  for (const demo of DEMO_USERS) {
    const existing = await db.user.findUnique({ where: { email: demo.email } })
    const user =
      existing ??
      (await db.user.create({
        data: {
          email: demo.email,
          name: demo.name,
          hashedPassword,
          role: demo.role ?? "USER",
          status: demo.status ?? "ACTIVE",
          impersonationConsent: demo.impersonationConsent ?? "ALLOWED",
          phone: demo.phone ?? null,
        },
      }))
    if (!existing) created++
    // Accounts seeded before phone numbers existed get theirs; a number already there is kept.
    else if (existing.phone === null && demo.phone) await db.user.update({ where: { id: existing.id }, data: { phone: demo.phone } })
    if (demo.organization) {
      const organization = await db.organization.upsert({
        where: { name: demo.organization.name },
        create: { name: demo.organization.name },
        update: {},
      })
      await db.membership.upsert({
        where: { organizationId_userId: { organizationId: organization.id, userId: user.id } },
        create: { organizationId: organization.id, userId: user.id, role: demo.organization.role },
        update: {},
      })
    }
  }
  await seedDemoDirectory()
  await seedDemoProjects() // needs the accounts and organizations above
  await seedDemoAuditHistory() // last: it needs the accounts and organizations above
  return { created }
}

async function main() {
  if (process.env.NODE_ENV === "production") {
    throw new Error("The demo seed refuses to run with NODE_ENV=production.")
  }
  const { created } = await seed()
  console.log(
    `Seeded ${describeEngine(engine)}: ${created} demo account(s) created, ` +
      `${DEMO_USERS.length - created} already there. Password for all: ${DEMO_PASSWORD}`,
  )
}

if (process.argv[1]?.endsWith("seeds.ts")) {
  main()
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error)
      process.exitCode = 1
    })
    .finally(async () => {
      await db.$disconnect()
      if (engine.kind === "pglite") await closeEmbedded(engine.dataDir)
    })
}

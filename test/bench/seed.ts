/**
 * The accounts `npm run bench` signs in with, written straight to the database the server will
 * use (DATABASE_URL, or PGLITE_DATA_DIR for the embedded engine; run before the server starts,
 * since one process at a time may open a PGlite folder). Prints one JSON line: the emails.
 * Usage: tsx test/bench/seed.ts <pairs>
 */
import { SecurePassword } from "@blitzjs/auth/secure-password"
import { BENCH_PASSWORD, type BenchAccounts } from "./accounts"

async function main() {
  const pairs = Number(process.argv[2] ?? 4)
  if (process.env.DATABASE_URL) {
    const { migratePostgres } = await import("db/migrate")
    await migratePostgres(process.env.DATABASE_URL)
  }
  const { default: db, engine } = await import("db")
  const { closeEmbedded } = await import("db/engine")
  try {
    const hashedPassword = await SecurePassword.hash(BENCH_PASSWORD)
    const organization = await db.organization.create({ data: { name: "Bench Org" } })
    const person = async (label: string, role: "USER" | "SUPPORT") => {
      const email = `${label}@bench.example`
      const user = await db.user.create({ data: { email, name: `Bench ${label}`, hashedPassword, role } })
      if (role === "USER") {
        await db.membership.create({ data: { organizationId: organization.id, userId: user.id, role: "MEMBER" } })
      }
      return email
    }
    const accounts: BenchAccounts = {
      user: await person("user", "USER"),
      admin: await person("admin", "SUPPORT"),
      pairs: [],
    }
    for (let i = 0; i < pairs; i++) {
      accounts.pairs.push({ admin: await person(`admin-${i}`, "SUPPORT"), subject: await person(`subject-${i}`, "USER") })
    }
    console.log(JSON.stringify(accounts))
  } finally {
    await db.$disconnect()
    if (engine.kind === "pglite") await closeEmbedded(engine.dataDir)
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})

import { SecurePassword } from "@blitzjs/auth/secure-password"
import db from "db"
import { DEMO_PASSWORD, DEMO_USERS } from "db/demoAccounts"

/** Emails of seeded demo accounts whose password is still the published demo password. */
export async function demoAccountsOnDemoPassword(): Promise<string[]> {
  const users = await db.user.findMany({
    where: { email: { in: DEMO_USERS.map((demo) => demo.email) } },
    select: { email: true, hashedPassword: true },
  })
  const flagged: string[] = []
  for (const user of users) {
    if (!user.hashedPassword) continue
    const valid = await SecurePassword.verify(user.hashedPassword, DEMO_PASSWORD).then(
      () => true,
      () => false,
    )
    if (valid) flagged.push(user.email)
  }
  return flagged
}

/** Why a production server refuses to start, and what to do about it. */
export function demoPasswordRefusal(emails: string[]): string {
  return [
    `Refusing to start in production: ${emails.length} demo account(s) still use the published demo password:`,
    ...emails.map((email) => `  - ${email}`),
    "Change their passwords (or delete the accounts) before serving real users,",
    "or set DEMO_MODE=true to serve a demo (npm run quickstart does).",
  ].join("\n")
}

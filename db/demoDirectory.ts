import type { OrgRole } from "./generated/enums"
import db from "./index"

/**
 * A few hundred customers for the demo, so that the admin console's directory has pages to
 * turn and rows of every kind: members of Acme, Globex and two more organizations, some in two
 * organizations, some disabled, some who never allow support access. They have no password
 * (nobody signs in as them). Deterministic and idempotent: a second run adds nothing.
 */
export const DEMO_DIRECTORY_SIZE = 300

const FIRST_NAMES = ["Ada", "Ben", "Cleo", "Dev", "Elif", "Femi", "Gia", "Hugo", "Ines", "Jae", "Kofi", "Lena", "Milo", "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess"]
const LAST_NAMES = ["Abbott", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen", "Kim", "Lopez", "Moreau", "Nakamura", "Okafor"]

export const DEMO_DIRECTORY_ORGANIZATIONS = ["Acme", "Globex", "Initech", "Hooli"] as const
type DemoOrganization = (typeof DEMO_DIRECTORY_ORGANIZATIONS)[number]

export type DemoCustomer = {
  email: string
  name: string
  status: "ACTIVE" | "DISABLED"
  impersonationConsent: "ALLOWED" | "NEVER"
  memberships: Array<{ organization: DemoOrganization; role: OrgRole }>
}

/** Customer `n` (1-based): the same every run. */
export function demoCustomer(n: number): DemoCustomer {
  const number = String(n).padStart(3, "0")
  const memberships: DemoCustomer["memberships"] = []
  const home = DEMO_DIRECTORY_ORGANIZATIONS[n % 5]
  // One customer in five belongs to no organization (n % 5 === 4).
  if (home) memberships.push({ organization: home, role: n % 25 === 0 ? "ADMIN" : "MEMBER" })
  // Some also belong to a second organization, which an admin of the first one does not run.
  if (n % 11 === 0 && home !== "Hooli") memberships.push({ organization: "Hooli", role: "MEMBER" })
  return {
    email: `customer-${number}@example.net`,
    name: `${FIRST_NAMES[n % FIRST_NAMES.length]} ${LAST_NAMES[Math.floor(n / FIRST_NAMES.length) % LAST_NAMES.length]} ${number}`,
    status: n % 17 === 0 ? "DISABLED" : "ACTIVE",
    impersonationConsent: n % 23 === 0 ? "NEVER" : "ALLOWED",
    memberships,
  }
}

/** Creates whatever of the demo directory is missing; returns how many users it created. */
export async function seedDemoDirectory(size = DEMO_DIRECTORY_SIZE): Promise<{ created: number }> {
  const customers = Array.from({ length: size }, (_, index) => demoCustomer(index + 1))
  const { count } = await db.user.createMany({
    data: customers.map(({ memberships: _memberships, ...user }) => ({ ...user, role: "USER" })),
    skipDuplicates: true,
  })
  const organizationIds = new Map<string, number>()
  for (const name of DEMO_DIRECTORY_ORGANIZATIONS) {
    const organization = await db.organization.upsert({ where: { name }, create: { name }, update: {} })
    organizationIds.set(name, organization.id)
  }
  const users = await db.user.findMany({
    where: { email: { in: customers.map((customer) => customer.email) } },
    select: { id: true, email: true },
  })
  const idByEmail = new Map(users.map((user) => [user.email, user.id]))
  await db.membership.createMany({
    data: customers.flatMap((customer) =>
      customer.memberships.map((membership) => ({
        userId: idByEmail.get(customer.email)!,
        organizationId: organizationIds.get(membership.organization)!,
        role: membership.role,
      })),
    ),
    skipDuplicates: true,
  })
  return { created: count }
}

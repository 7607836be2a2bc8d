import type { OrgRole, Role } from "./generated/enums"

/** The seeded accounts and their shared, published password (see the README's quickstart). */
export const DEMO_PASSWORD = "demo-password-1"

type DemoUser = {
  email: string
  name: string
  role?: Role
  status?: "ACTIVE" | "DISABLED"
  impersonationConsent?: "ALLOWED" | "ASK" | "NEVER"
  organization?: { name: string; role: OrgRole }
  /** Fictional (555-01xx is reserved for fiction): a sensitive field, masked while impersonating. */
  phone?: string
}

export const DEMO_USERS: DemoUser[] = [
  { email: "superadmin@example.com", name: "Sam Superadmin", role: "SUPERADMIN", phone: "+1 555 0100 1001" },
  { email: "support@example.com", name: "Sky Support", role: "SUPPORT", phone: "+1 555 0100 1002" },
  // Uma's Projects (db/demoProjects.ts) live in Umbrella, where Pat is the teammate to share with.
  {
    email: "user@example.com",
    name: "Uma User",
    organization: { name: "Umbrella", role: "MEMBER" },
    phone: "+1 (555) 0100-4321",
  },
  {
    email: "pat@example.com",
    name: "Pat Partner",
    organization: { name: "Umbrella", role: "MEMBER" },
    phone: "+1 555 0100 1010",
  },
  { email: "disabled@example.com", name: "Dana Disabled", status: "DISABLED", phone: "+1 555 0100 1004" },
  { email: "optout@example.com", name: "Oscar Optout", impersonationConsent: "NEVER", phone: "+1 555 0100 1005" },
  // Support must ask Avery first: a start creates an access request that Avery approves or denies.
  { email: "ask@example.com", name: "Avery Ask", impersonationConsent: "ASK", phone: "+1 555 0100 1011" },
  {
    email: "owner@acme.example",
    name: "Olive Owner",
    organization: { name: "Acme", role: "OWNER" },
    phone: "+44 20 7946 0106",
  },
  {
    email: "admin@acme.example",
    name: "Adam Admin",
    organization: { name: "Acme", role: "ADMIN" },
    phone: "+44 20 7946 0107",
  },
  {
    email: "member@acme.example",
    name: "Mia Member",
    organization: { name: "Acme", role: "MEMBER" },
    phone: "+44 20 7946 0108",
  },
  {
    email: "member@globex.example",
    name: "Gus Globex",
    organization: { name: "Globex", role: "MEMBER" },
    phone: "+1 555 0100 1009",
  },
]

/** Who a demo account is, in words, for the login page's list. */
export function describeDemoUser(demo: DemoUser): string {
  const parts = [demo.name]
  if (demo.role && demo.role !== "USER") parts.push(demo.role.toLowerCase())
  if (demo.organization) parts.push(`${demo.organization.role.toLowerCase()} of ${demo.organization.name}`)
  if (demo.status === "DISABLED") parts.push("disabled")
  if (demo.impersonationConsent === "NEVER") parts.push("never allows impersonation")
  if (demo.impersonationConsent === "ASK") parts.push("approves each access")
  return parts.join(", ")
}

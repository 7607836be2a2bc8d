import db from "db"
import { eligibilityOf, type Eligibility } from "app/access/requestRules"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import {
  administeredOrganizationIds,
  decideTarget,
  isActiveImpersonator,
  seesWholePlatform,
  type OrgRole,
} from "app/impersonation/policy"
import { roleChoices } from "./roles"

export const MEMBERS_PAGE_SIZE = 50
const MAX_ID = 2_147_483_647

/** A path or query segment that names a row id, or null ("abc", "0", "1e3", too large). */
export function parseId(raw: string | string[] | undefined): number | null {
  if (typeof raw !== "string" || !/^[1-9]\d{0,9}$/.test(raw)) return null
  const id = Number(raw)
  return id <= MAX_ID ? id : null
}

export type MemberRow = {
  userId: number
  name: string
  email: string
  role: OrgRole
  /**
   * Null when the viewer gets no Impersonate buttons on this page (plain members); a member who
   * approves each access is eligible with the hint "Approval required".
   */
  eligibility: Eligibility | null
  /** The roles the viewer may give this member ("Change role"); empty: no control. */
  roleChoices: OrgRole[]
}

export type OrganizationPage = {
  organization: { id: number; name: string }
  /** The viewer's own role here; null for platform staff who are not members. */
  viewerRole: OrgRole | null
  /** Whether the viewer is shown Impersonate buttons (and reasons) on this page at all. */
  mayImpersonateHere: boolean
  /** Whether any member's row has a "Change role" control for the viewer. */
  mayChangeRolesHere: boolean
  members: MemberRow[]
  previousCursor: number | null
  nextCursor: number | null
}

/**
 * The organization page as `viewerId` may see it, or null (the page answers 404) when the
 * organization does not exist or the viewer is neither a member nor platform staff: outsiders
 * cannot tell an organization they are not in from one that does not exist.
 */
export async function loadOrganizationPage(input: {
  viewerId: number
  /** True while the session is an impersonation: never a start from inside one (rule 2). */
  impersonating: boolean
  organizationId: number | null
  /** Keyset cursors on the membership id. */
  after?: number | null
  before?: number | null
}): Promise<OrganizationPage | null> {
  const { organizationId } = input
  if (organizationId === null) return null
  const [viewerRow, organization] = await Promise.all([
    db.user.findUnique({ where: { id: input.viewerId }, ...userForPolicy }),
    db.organization.findUnique({ where: { id: organizationId }, select: { id: true, name: true } }),
  ])
  if (!viewerRow || !organization || viewerRow.status !== "ACTIVE") return null
  const viewer = toPolicyUser(viewerRow)
  const viewerRole = viewer.memberships.find((m) => m.organizationId === organizationId)?.role ?? null
  const platformStaff = seesWholePlatform(viewer)
  if (viewerRole === null && !platformStaff) return null

  const mayImpersonateHere =
    !input.impersonating &&
    isActiveImpersonator(viewer) &&
    (platformStaff || administeredOrganizationIds(viewer).includes(organizationId))

  const backwards = input.before != null
  const cursor = backwards ? { id: { lt: input.before! } } : input.after != null ? { id: { gt: input.after } } : {}
  const fetched = await db.membership.findMany({
    where: { organizationId, ...cursor },
    orderBy: { id: backwards ? "desc" : "asc" },
    take: MEMBERS_PAGE_SIZE + 1,
    select: { id: true, role: true, user: userForPolicy },
  })
  const more = fetched.length > MEMBERS_PAGE_SIZE
  const page = fetched.slice(0, MEMBERS_PAGE_SIZE)
  if (backwards) page.reverse()
  const members = page.map((membership): MemberRow => {
    let eligibility: MemberRow["eligibility"] = null
    if (mayImpersonateHere) {
      const target = toPolicyUser(membership.user)
      eligibility = eligibilityOf(decideTarget(viewer, target), target)
    }
    return {
      userId: membership.user.id,
      name: membership.user.name,
      email: membership.user.email,
      role: membership.role,
      eligibility,
      // Changing roles is refused while impersonating (blitz.config.ts): no control is offered then.
      roleChoices: input.impersonating ? [] : roleChoices({ userId: viewer.id, role: viewerRole }, { userId: membership.user.id, role: membership.role }),
    }
  })
  const firstId = page[0]?.id ?? null
  const lastId = page.at(-1)?.id ?? null
  return {
    organization,
    viewerRole,
    mayImpersonateHere,
    mayChangeRolesHere: members.some((member) => member.roleChoices.length > 0),
    members,
    previousCursor: (backwards ? more : input.after != null) ? firstId : null,
    nextCursor: (backwards ? true : more) ? lastId : null,
  }
}

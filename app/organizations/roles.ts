import type { OrgRole } from "app/impersonation/policy"

/**
 * Who may change a member's organization role (the Members tab's "Change role"), as pure
 * functions: the caller must be an OWNER or ADMIN there, never changes their own role, an
 * ADMIN neither grants OWNER nor changes an OWNER, and the organization keeps an OWNER.
 */

export const ORG_ROLES = ["OWNER", "ADMIN", "MEMBER"] as const satisfies readonly OrgRole[]

export const ROLE_CHANGE_MESSAGES = {
  NOT_ORG_ADMIN: "Only an owner or admin of this organization can change roles",
  SELF: "You cannot change your own role",
  OWNER_ONLY: "Only an owner can make someone an owner or change an owner's role",
  LAST_OWNER: "The organization must keep at least one owner",
} as const

export type RoleChangeRefusal = keyof typeof ROLE_CHANGE_MESSAGES

export type RoleChangeDecision = { allowed: true } | { allowed: false; code: RoleChangeRefusal; message: string }

const managesRoles = (role: OrgRole | null): role is "OWNER" | "ADMIN" => role === "OWNER" || role === "ADMIN"

export function decideRoleChange(input: {
  /** The caller's role in the organization; null when not a member. */
  actor: { userId: number; role: OrgRole | null }
  target: { userId: number; role: OrgRole }
  newRole: OrgRole
  /** OWNERs of the organization now, the target included. */
  ownerCount: number
}): RoleChangeDecision {
  const { actor, target, newRole } = input
  const refuse = (code: RoleChangeRefusal): RoleChangeDecision => ({ allowed: false, code, message: ROLE_CHANGE_MESSAGES[code] })
  if (!managesRoles(actor.role)) return refuse("NOT_ORG_ADMIN")
  if (actor.userId === target.userId) return refuse("SELF")
  if (actor.role === "ADMIN" && (newRole === "OWNER" || target.role === "OWNER")) return refuse("OWNER_ONLY")
  if (target.role === "OWNER" && newRole !== "OWNER" && input.ownerCount <= 1) return refuse("LAST_OWNER")
  return { allowed: true }
}

/** The roles the viewer may choose for this member on the Members tab; empty: no control is shown. */
export function roleChoices(viewer: { userId: number; role: OrgRole | null }, member: { userId: number; role: OrgRole }): OrgRole[] {
  if (!managesRoles(viewer.role) || viewer.userId === member.userId) return []
  if (viewer.role === "ADMIN") return member.role === "OWNER" ? [] : ["ADMIN", "MEMBER"]
  return [...ORG_ROLES]
}

import { resolver } from "@blitzjs/rpc"
import { AuthorizationError, NotFoundError } from "blitz"
import db from "db"
import { recordAuditEvent } from "app/audit/log"
import { lockOwners } from "../ownership"
import { decideRoleChange, type RoleChangeRefusal } from "../roles"
import { ChangeMemberRole } from "../schemas"

export class MemberRoleRefusedError extends AuthorizationError {
  code: RoleChangeRefusal
  constructor(code: RoleChangeRefusal, message: string) {
    super(message)
    this.name = "MemberRoleRefusedError"
    this.code = code
    // Losing the last owner is a conflict with the organization's state, not a missing right.
    if (code === "LAST_OWNER") this.statusCode = 409
  }
}

/**
 * Changes a member's role on the organization's Members tab (roles.ts decides who may). A
 * demoted admin's live impersonations end at their next request (the guard re-checks rights).
 */
export default resolver.pipe(
  resolver.zod(ChangeMemberRole),
  resolver.authorize(),
  async ({ organizationId, userId, role }, ctx) => {
    const actorId = ctx.session.userId
    return db.$transaction(async (tx) => {
      const ownerCount = await lockOwners(tx, organizationId)
      const [mine, theirs] = await Promise.all([
        tx.membership.findUnique({ where: { organizationId_userId: { organizationId, userId: actorId } }, select: { role: true } }),
        tx.membership.findUnique({ where: { organizationId_userId: { organizationId, userId } }, select: { id: true, role: true } }),
      ])
      // Outsiders cannot tell an organization they are not in from one that does not exist.
      if (!mine) throw new NotFoundError("No organization with that ID")
      if (!theirs) throw new NotFoundError("No member with that user ID in this organization")
      const decision = decideRoleChange({
        actor: { userId: actorId, role: mine.role },
        target: { userId, role: theirs.role },
        newRole: role,
        ownerCount,
      })
      if (!decision.allowed) throw new MemberRoleRefusedError(decision.code, decision.message)
      if (theirs.role === role) return { organizationId, userId, role, changed: false }
      await tx.membership.update({ where: { id: theirs.id }, data: { role }, select: { id: true } })
      // Roles decide who may impersonate whom: every change is on record, with the change itself.
      await recordAuditEvent(tx, {
        action: "MEMBER_ROLE_CHANGED",
        actorId,
        subjectId: userId,
        impersonationId: null,
        organizationId,
        details: { from: theirs.role, to: role },
      })
      return { organizationId, userId, role, changed: true }
    })
  },
)

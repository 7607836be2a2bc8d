import { resolver } from "@blitzjs/rpc"
import db from "db"
import { recordSignOut } from "app/auth/audit"
import { signOutEverywhere } from "app/impersonation/guard"
import { lockOwners } from "app/organizations/ownership"
import { confirmOwnPassword } from "../confirmPassword"
import { DeleteAccount } from "../schemas"

export class LastOwnerError extends Error {
  name = "LastOwnerError"
  statusCode = 409
  code = "LAST_OWNER"
  constructor(organizationName: string) {
    super(`You are the only owner of ${organizationName}: make another member an owner before you delete your account`)
  }
}

/** The email a deleted account keeps: unique, and no address anyone can receive mail at (RFC 2606). */
export const deletedEmail = (userId: number) => `deleted-${userId}@deleted.invalid`

/**
 * Deletes the signed-in user's account after checking their password. The row stays, because
 * the audit log names it, but the person is erased from it: placeholder email, "Deleted user",
 * no phone, no password, DISABLED, `deletedAt` set; their API keys are revoked. Organizations
 * lose them as a member (an organization's only owner must hand it over first, while others
 * remain); their projects that nobody else shares are deleted with them, while projects shared
 * with teammates stay, as the teammates' work, owned by "Deleted user". Every session of
 * theirs and every impersonation they started end at once.
 */
export default resolver.pipe(resolver.zod(DeleteAccount), resolver.authorize(), async ({ password }, ctx) => {
  const userId = ctx.session.userId
  await confirmOwnPassword(userId, password, "Your password is not correct")
  const now = new Date()
  await db.$transaction(async (tx) => {
    const owned = await tx.membership.findMany({
      where: { userId, role: "OWNER" },
      select: { organizationId: true, organization: { select: { name: true } } },
      orderBy: { organizationId: "asc" },
    })
    for (const { organizationId, organization } of owned) {
      const owners = await lockOwners(tx, organizationId)
      const members = await tx.membership.count({ where: { organizationId } })
      if (owners <= 1 && members > 1) throw new LastOwnerError(organization.name)
    }
    await tx.projectMember.deleteMany({ where: { userId } })
    await tx.project.deleteMany({ where: { ownerId: userId, members: { none: {} } } })
    await tx.membership.deleteMany({ where: { userId } })
    await tx.apiKey.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } })
    await tx.user.update({
      where: { id: userId },
      data: {
        deletedAt: now,
        status: "DISABLED",
        email: deletedEmail(userId),
        name: "Deleted user",
        phone: null,
        hashedPassword: null,
      },
      select: { id: true },
    })
  })
  const { sessions, actorTokens } = await signOutEverywhere(userId, { now })
  await ctx.session.$revoke()
  await recordSignOut({ userId }, { everywhere: true, cause: "ACCOUNT_DELETED", sessions, actorTokensRevoked: actorTokens })
  return { deleted: true }
})

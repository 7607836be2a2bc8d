import { SecurePassword } from "@blitzjs/auth/secure-password"
import { resolver } from "@blitzjs/rpc"
import db from "db"
import { recordSignOut } from "app/auth/audit"
import { signOutEverywhere } from "app/impersonation/guard"
import { confirmOwnPassword } from "../confirmPassword"
import { ChangePassword } from "../schemas"

/**
 * Changes the signed-in user's password after checking the current one. Every other session of
 * theirs and every impersonation they started end (PASSWORD_CHANGED): whoever knew the old
 * password keeps nothing. This browser stays signed in, on a fresh session.
 */
export default resolver.pipe(
  resolver.zod(ChangePassword),
  resolver.authorize(),
  async ({ currentPassword, newPassword }, ctx) => {
    const userId = ctx.session.userId
    const user = await confirmOwnPassword(userId, currentPassword, "Your current password is not correct")
    await db.user.update({
      where: { id: userId },
      data: { hashedPassword: await SecurePassword.hash(newPassword) },
      select: { id: true },
    })
    const { sessions, actorTokens } = await signOutEverywhere(userId, { endReason: "PASSWORD_CHANGED" })
    // This browser's row went with the others; it gets a new handle and tokens.
    await ctx.session.$revoke()
    await ctx.session.$create({ userId, role: user.role })
    const otherSessions = Math.max(0, sessions - 1)
    await recordSignOut({ userId }, { everywhere: true, cause: "PASSWORD_CHANGED", sessions: otherSessions, actorTokensRevoked: actorTokens })
    return { passwordChanged: true, otherSessionsEnded: otherSessions }
  },
)

import type { SessionContext } from "@blitzjs/auth"
import { AuthenticationError } from "blitz"
import { ImpersonationRefusedError } from "app/core/errors"
import { sessionHolder } from "app/impersonation/guard"

export const FOR_USER_ONLY = {
  history: "The access history is shown to the account's user only, never to someone acting as them",
  live: "Who is in this account is shown to its user only, never to someone acting as them",
  requests: "Access requests are shown to the account's user only, never to someone acting as them",
} as const

/**
 * The user's own side of support access (who is in the account, who asked, who came before, and
 * why) is the user's to read: never shown to an admin acting as them, whose session row names an
 * impersonation. The one place of that rule for the queries of app/access; its mutations are
 * refused by the RPC gate (blitz.config.ts refusedActions).
 */
export async function requireOwnSession(session: SessionContext, what: keyof typeof FOR_USER_ONLY): Promise<{ userId: number }> {
  const holder = await sessionHolder(session)
  if (!holder) throw new AuthenticationError("Sign in to see your account's security")
  if (holder.impersonationId !== null) throw new ImpersonationRefusedError("IMPERSONATION_REFUSED_ACTION", FOR_USER_ONLY[what])
  return { userId: holder.userId }
}

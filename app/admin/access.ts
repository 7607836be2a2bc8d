import db from "db"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import { isActiveImpersonator } from "app/impersonation/policy"
import type { CurrentUser } from "app/users/queries/getCurrentUser"

export type AdminConsoleAccess = { allowed: true } | { allowed: false; message: string }

/** The admin console is for platform staff and organization admins, never while impersonating. */
export async function adminConsoleAccess(user: CurrentUser): Promise<AdminConsoleAccess> {
  if (user.impersonator) {
    return { allowed: false, message: "The admin console is not available while impersonating." }
  }
  const row = await db.user.findUnique({ where: { id: user.id }, ...userForPolicy })
  if (!isActiveImpersonator(row && toPolicyUser(row))) {
    return { allowed: false, message: "You do not have access to the admin console." }
  }
  return { allowed: true }
}

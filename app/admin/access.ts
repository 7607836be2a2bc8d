import { forbidden, redirect } from "next/navigation"
import { cache } from "react"
import db from "db"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import { isActiveImpersonator, type PolicyUser } from "app/impersonation/policy"
import { loadCurrentUser } from "app/users/currentUser"
import type { CurrentUser } from "app/users/queries/getCurrentUser"

export type AdminConsoleAccess =
  | { allowed: true; admin: PolicyUser }
  | { allowed: false; message: string }

/**
 * The admin console is for platform staff and organization admins, never while impersonating.
 * Cached per render: the root layout, the console layout and the page all ask.
 */
export const adminConsoleAccess = cache(async (user: CurrentUser): Promise<AdminConsoleAccess> => {
  if (user.impersonator) {
    return { allowed: false, message: "The admin console is not available while impersonating." }
  }
  const row = await db.user.findUnique({ where: { id: user.id }, ...userForPolicy })
  const admin = row && toPolicyUser(row)
  if (!isActiveImpersonator(admin)) {
    return { allowed: false, message: "You do not have access to the admin console." }
  }
  return { allowed: true, admin }
})

/**
 * For admin console pages (server components): the signed-in admin, as the policy sees them
 * (fresh from the database), or a redirect to /login, or the 403 page with the reason.
 */
export async function requireAdminConsole(): Promise<{ user: CurrentUser; admin: PolicyUser }> {
  const user = await loadCurrentUser()
  if (!user) redirect("/login")
  const access = await adminConsoleAccess(user)
  if (!access.allowed) forbidden()
  return { user, admin: access.admin }
}

import type { Ctx } from "blitz"
import { sessionForRequest } from "app/impersonation/guard"

export type CurrentUser = {
  id: number
  email: string
  name: string
  role: "USER" | "SUPPORT" | "SUPERADMIN"
  impersonator: { id: number; email: string; name: string } | null
  impersonationExpiresAt: Date | null
  reason: string | null
  /** The support ticket behind the impersonation, an http(s) URL. */
  ticketUrl: string | null
  mode: "READ_ONLY" | "READ_WRITE" | null
  /** When the user's approval this impersonation runs under ends (consent ASK); null: none. */
  approvedUntil: Date | null
}

/** The signed-in user and, while impersonating, who is behind the session (Clerk's `act`). */
export default async function getCurrentUser(_: null, ctx: Ctx): Promise<CurrentUser | null> {
  const handle = ctx.session.$handle
  if (!ctx.session.userId || !handle) return null
  // The guard's read of this request's session, reused: no statement of its own.
  const session = await sessionForRequest(handle)
  if (!session?.user) return null
  const impersonation = session.impersonation
  const { id, email, name, role } = session.user
  const actor = impersonation?.actor
  return {
    id,
    email,
    name,
    role,
    impersonator: actor ? { id: actor.id, email: actor.email, name: actor.name } : null,
    impersonationExpiresAt: impersonation?.expiresAt ?? null,
    reason: impersonation?.reason ?? null,
    ticketUrl: impersonation?.ticketUrl ?? null,
    mode: impersonation?.mode ?? null,
    approvedUntil: impersonation?.accessRequest?.expiresAt ?? null,
  }
}

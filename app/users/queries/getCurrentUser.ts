import type { Ctx } from "blitz"
import db from "db"

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
  const session = await db.session.findUnique({
    where: { handle },
    select: {
      user: { select: { id: true, email: true, name: true, role: true } },
      impersonation: {
        select: {
          expiresAt: true,
          reason: true,
          ticketUrl: true,
          mode: true,
          actor: { select: { id: true, email: true, name: true } },
          accessRequest: { select: { expiresAt: true } },
        },
      },
    },
  })
  if (!session?.user) return null
  const impersonation = session.impersonation
  return {
    ...session.user,
    impersonator: impersonation?.actor ?? null,
    impersonationExpiresAt: impersonation?.expiresAt ?? null,
    reason: impersonation?.reason ?? null,
    ticketUrl: impersonation?.ticketUrl ?? null,
    mode: impersonation?.mode ?? null,
    approvedUntil: impersonation?.accessRequest?.expiresAt ?? null,
  }
}

import db, { type User } from "db"
import { appendAuditEvent, recordAuditEvent } from "app/audit/log"
import { knownDeviceId } from "./knownDevice"
import { clearEmailFailures } from "./loginThrottle"

/**
 * A session was created for this person: on record, their email's failed sign-ins forgotten,
 * and their last-seen time set (a sign-in is their own request; starting an impersonation never comes here).
 */
export async function recordSignIn(user: Pick<User, "id" | "email">, method: "PASSWORD" | "SIGNUP") {
  await db.$transaction(async (tx) => {
    await clearEmailFailures(tx, user.email, knownDeviceId(user.email))
    await tx.user.update({ where: { id: user.id }, data: { lastSeenAt: new Date() }, select: { id: true } })
    await recordAuditEvent(tx, {
      action: "SIGNED_IN",
      actorId: user.id,
      subjectId: user.id,
      impersonationId: null,
      organizationId: null,
      details: { method },
    })
  })
}

/** A signed-in session ended by signing out; during an impersonation the admin is the actor. */
export async function recordSignOut(
  session: { userId: number; impersonatingFromUserId?: number; impersonationId?: number },
  details: Record<string, unknown> = {},
) {
  await appendAuditEvent({
    action: "SIGNED_OUT",
    actorId: session.impersonatingFromUserId ?? session.userId,
    subjectId: session.userId,
    impersonationId: session.impersonationId ?? null,
    organizationId: null,
    details,
  })
}

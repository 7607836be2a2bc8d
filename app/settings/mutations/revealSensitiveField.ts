import { resolver } from "@blitzjs/rpc"
import { NotFoundError } from "blitz"
import { sensitiveFields, type SensitiveFieldName } from "blitz.config"
import db from "db"
import { currentImpersonation, readUnmasked } from "db/scope"
import { recordAuditEvent } from "app/audit/log"
import { RevealSensitiveField } from "../schemas"

/**
 * Where each sensitive field (blitz.config.ts) is read for "Reveal": always a row of the
 * signed-in user's own, never another's. Adding a sensitive field means adding its reader
 * here (the type requires one).
 */
const ownValue: Record<SensitiveFieldName, (userId: number, id: number | undefined) => Promise<{ value: string | null } | null>> = {
  "User.phone": async (userId, id) => {
    if (id !== undefined && id !== userId) return null
    const row = await db.user.findUnique({ where: { id: userId }, select: { phone: true } })
    return row && { value: row.phone }
  },
  "ApiKey.lastChars": async (userId, id) => {
    const row = await db.apiKey.findFirst({ where: { id, userId }, select: { lastChars: true } })
    return row && { value: row.lastChars }
  },
}

/**
 * Shows one masked value, for this one response, with a reason. While impersonating the
 * reveal is on record (SENSITIVE_FIELD_REVEALED: the admin, the user, the impersonation, the
 * field, the row and the reason) before the value leaves; outside an impersonation nothing is
 * masked, so it is simply the person's own value. Always allowed by the gate (blitz.config.ts).
 */
export default resolver.pipe(
  resolver.zod(RevealSensitiveField),
  resolver.authorize(),
  async ({ field, id, reason }, ctx) => {
    const userId = ctx.session.userId
    const found = await readUnmasked(() => ownValue[field](userId, id))
    if (!found) throw new NotFoundError(`No ${sensitiveFields[field].label.toLowerCase()} of yours with that ID`)
    const impersonation = currentImpersonation()
    if (impersonation) {
      await db.$transaction(async (tx) => {
        const row = await tx.impersonation.findUnique({ where: { id: impersonation.id }, select: { organizationId: true } })
        await recordAuditEvent(tx, {
          action: "SENSITIVE_FIELD_REVEALED",
          actorId: impersonation.actorId,
          subjectId: impersonation.subjectId,
          impersonationId: impersonation.id,
          organizationId: row?.organizationId ?? null,
          details: { field, id: id ?? userId, reason },
        })
      })
    }
    return { value: found.value }
  },
)

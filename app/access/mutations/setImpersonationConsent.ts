import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import db from "db"
import { recordAuditEvent } from "app/audit/log"
import { sessionHolder } from "app/impersonation/guard"
import { loadConsentState, type ConsentState } from "../consent"
import { revokeApprovalsOnNever } from "../requests"
import { SetImpersonationConsent } from "../userSideSchemas"

export type SetConsentResult = ConsentState & { changed: boolean }

/**
 * The signed-in user's own say over support access: "Support may access my account"
 * (ALLOWED), "Ask me each time" (ASK) or "Never" (NEVER). Audited (CONSENT_CHANGED, from and
 * to); choosing the current setting changes and records nothing. A live impersonation that the
 * new setting no longer allows ends at its next request (the guard's reviewImpersonation).
 * Refused while impersonating by the RPC gate (blitz.config.ts), in every mode.
 */
export default resolver.pipe(
  resolver.zod(SetImpersonationConsent),
  resolver.authorize(),
  async ({ consent }, ctx): Promise<SetConsentResult> => {
    const holder = await sessionHolder(ctx.session)
    if (!holder) throw new AuthenticationError("Sign in to change who may access your account")
    const userId = holder.userId
    const changed = await db.$transaction(async (tx) => {
      // The row is locked so that two changes at once record a true "from" each.
      const [row] = await tx.$queryRaw<{ impersonationConsent: ConsentState["consent"] }[]>`
        SELECT "impersonationConsent"::text AS "impersonationConsent" FROM "User" WHERE "id" = ${userId} FOR UPDATE`
      if (!row) throw new AuthenticationError("Sign in to change who may access your account")
      const from = row.impersonationConsent
      if (from === consent) return false
      await tx.user.update({ where: { id: userId }, data: { impersonationConsent: consent }, select: { id: true } })
      await recordAuditEvent(tx, {
        action: "CONSENT_CHANGED",
        actorId: userId,
        subjectId: userId,
        impersonationId: null,
        organizationId: null,
        details: { from, to: consent },
      })
      if (consent === "NEVER") await revokeApprovalsOnNever(tx, { userId }, { revokedById: userId, because: "CONSENT_NEVER" })
      return true
    })
    const state = await loadConsentState(userId, holder.impersonationId !== null)
    return { ...state!, changed }
  },
)

import { resolver } from "@blitzjs/rpc"
import { AuthenticationError, NotFoundError } from "blitz"
import db from "db"
import { revokeApprovalsOnNever } from "app/access/requests"
import { SetOrganizationConsentFloor } from "app/access/userSideSchemas"
import { recordAuditEvent } from "app/audit/log"
import { sessionHolder, toPolicyUser, userForPolicy } from "app/impersonation/guard"
import { maySetConsentFloor, type Consent } from "app/impersonation/policy"

export type SetFloorResult = { organizationId: number; floor: Consent; changed: boolean }

/**
 * An organization OWNER's floor for members' consent: ALLOWED ("Members decide"), ASK
 * ("Members' accounts always require approval") or NEVER ("No staff access to this
 * organization"). It applies to platform support and to the organization's own admins; a
 * member's own setting can only make it stricter. Audited (CONSENT_FLOOR_CHANGED); live
 * impersonations it no longer allows end at their next request. Anyone but an OWNER gets the
 * answer an unknown organization gets.
 */
export default resolver.pipe(
  resolver.zod(SetOrganizationConsentFloor),
  resolver.authorize(),
  async ({ organizationId, floor }, ctx): Promise<SetFloorResult> => {
    const holder = await sessionHolder(ctx.session)
    if (!holder) throw new AuthenticationError("Sign in to change your organization's settings")
    const notFound = () => new NotFoundError("No organization with that ID")
    return db.$transaction(async (tx) => {
      // The organization row is locked first, so two owners at once each record a true "from".
      const [org] = await tx.$queryRaw<{ consentFloor: Consent }[]>`
        SELECT "consentFloor"::text AS "consentFloor" FROM "Organization" WHERE "id" = ${organizationId} FOR UPDATE`
      const actor = await tx.user.findUnique({ where: { id: holder.userId }, ...userForPolicy })
      if (!org || !actor || !maySetConsentFloor(toPolicyUser(actor), organizationId)) throw notFound()
      const from = org.consentFloor
      if (from === floor) return { organizationId, floor, changed: false }
      await tx.organization.update({ where: { id: organizationId }, data: { consentFloor: floor }, select: { id: true } })
      await recordAuditEvent(tx, {
        action: "CONSENT_FLOOR_CHANGED",
        actorId: actor.id,
        subjectId: null,
        impersonationId: null,
        organizationId,
        details: { from, to: floor },
      })
      if (floor === "NEVER") {
        await revokeApprovalsOnNever(tx, { organizationId }, { revokedById: actor.id, because: "ORGANIZATION_FLOOR_NEVER" })
      }
      return { organizationId, floor, changed: true }
    })
  },
)

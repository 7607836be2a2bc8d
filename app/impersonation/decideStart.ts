import db from "db"
import { askUserForAccess } from "app/access/requests"
import { serverConfig } from "app/core/serverConfig"
import { toPolicyUser, userForPolicy, type SessionHolder } from "./guard"
import { type ApprovedAccess, type Grant, type StartRequest } from "./policy"
import type { ImpersonateUserInput } from "./schemas"
import { approvalForStart, decideStartWithStepUp, recordRefusedStart, startsThisMonth } from "./start"

type RefusalEntry = Parameters<typeof recordRefusedStart>[0]

/**
 * The decision every admin-initiated way in asks before anything starts (impersonateUser, actor
 * token creation): the admin from the server's session row, the user by id or email, the quota,
 * the user's approval where their consent asks for one, every rule of policy.ts, the step-up for
 * read-write, and, where the user approves each access, the access request instead of a start.
 * Refusals are audited with `refusal` (plus the code) and thrown.
 */
export async function decideAdminStart(
  holder: SessionHolder,
  input: ImpersonateUserInput,
  refusal: Pick<RefusalEntry, "action"> & { details: Record<string, unknown> },
  now: Date,
) {
  // The admin as the guard read them this request; the quota is counted only where there is one.
  const actor = holder.user
  const limit = serverConfig.impersonation.monthlyQuota
  const [target, usedThisMonth] = await Promise.all([
    db.user.findUnique({
      where: input.userId !== undefined ? { id: input.userId } : { email: input.email! },
      ...userForPolicy,
    }),
    limit === null ? 0 : startsThisMonth(holder.userId, now),
  ])
  const ticketUrl = input.ticketUrl ?? null
  // Never the password: the audit gets the mode and, for a step-up refusal, its outcome.
  const audited = {
    ...refusal,
    actorId: actor.id,
    subjectId: target?.id ?? null,
    reason: input.reason,
    requested: input.userId !== undefined ? { userId: input.userId } : { email: input.email },
  }
  const policyTarget = target && toPolicyUser(target)
  const request: StartRequest = {
    actor: toPolicyUser(actor),
    target: policyTarget,
    alreadyImpersonating: holder.impersonationId !== null,
    reason: input.reason,
    enabled: serverConfig.impersonation.enabled,
    quota: { limit, usedThisMonth },
    approval: await approvalForStart(actor.id, policyTarget),
    now,
  }
  const decided: { grant: Grant; approval?: ApprovedAccess } = await decideStartWithStepUp({
    request,
    mode: input.mode,
    password: input.password,
    refusal: audited,
    // Consent "Ask me each time" with no live approval: the user is asked (an access request).
    onApprovalRequired: () =>
      askUserForAccess(
        { request, actor, subject: target!, reason: input.reason, ticketUrl, mode: input.mode, hours: input.hours, refusal: audited },
        now,
      ),
  })
  return { actor, subject: target!, ticketUrl, audited, ...decided }
}

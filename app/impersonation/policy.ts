/**
 * Who may impersonate whom, and whether an impersonation in progress may go on.
 * Pure functions: no database, no session, no clock (callers pass `now`).
 */

export type PlatformRole = "USER" | "SUPPORT" | "SUPERADMIN"
export type OrgRole = "OWNER" | "ADMIN" | "MEMBER"

export const IMPERSONATE_PERMISSION = "org:admin:impersonate"

/** Organization roles and the permissions they grant (Clerk's custom permission name). */
export const ORG_ROLE_PERMISSIONS: Record<OrgRole, readonly string[]> = {
  OWNER: [IMPERSONATE_PERMISSION],
  ADMIN: [IMPERSONATE_PERMISSION],
  MEMBER: [],
}

const ORG_ROLE_RANK: Record<OrgRole, number> = { OWNER: 3, ADMIN: 2, MEMBER: 1 }

/** Whether staff may act as a user (rule 10): always, after the user approves a request, never. */
export type Consent = "ALLOWED" | "ASK" | "NEVER"

export type PolicyUser = {
  id: number
  role: PlatformRole
  status: "ACTIVE" | "DISABLED"
  impersonationConsent: Consent
  /** `consentFloor`: the organization OWNER's floor for members' consent (absent: ALLOWED). */
  memberships: ReadonlyArray<{ organizationId: number; role: OrgRole; consentFloor?: Consent }>
}

export const REFUSAL_MESSAGES = {
  FEATURE_DISABLED: "Impersonation is turned off for this app right now",
  ACTOR_INACTIVE: "Your account is disabled",
  NO_PERMISSION: "You do not have permission to impersonate users",
  ALREADY_IMPERSONATING: "Stop the current impersonation before starting another",
  REASON_REQUIRED: "Give a reason for the impersonation",
  TARGET_NOT_FOUND: "No user with that ID or email",
  SELF: "You cannot impersonate yourself",
  TARGET_DISABLED: "This user's account is disabled",
  TARGET_PRIVILEGED: "This user is platform staff and cannot be impersonated by you",
  NOT_SAME_ORG: "You can only impersonate members of your own organization",
  ORG_ROLE_NOT_LOWER:
    "You can only impersonate members whose role is lower than yours in every organization they belong to",
  TARGET_OPTED_OUT: "This user has turned off support access",
  ORGANIZATION_FORBIDS: "This user's organization allows no staff access to its members' accounts",
  APPROVAL_REQUIRED: "Waiting for the user's approval: this user approves each access to their account",
  ACCESS_DENIED: "The user denied your access request",
  ACCESS_REVOKED: "The user revoked your access",
  MODE_NOT_APPROVED: "The user approved read-only access only: start read-only (a read-write request can follow once this approval ends)",
  QUOTA: "You have used your monthly quota",
  STEP_UP_REQUIRED: "Enter your password to allow changes (read-write)",
} as const

export type RefusalCode = keyof typeof REFUSAL_MESSAGES

/** What entitles the actor to impersonate this target; recorded on the Impersonation row. */
export type Grant =
  | { kind: "PLATFORM"; role: "SUPPORT" | "SUPERADMIN" }
  | { kind: "ORGANIZATION"; organizationId: number; role: OrgRole }

export type StartDecision =
  /** `approval`: the user's approval the start runs under (consent ASK), which caps its time. */
  | { allowed: true; grant: Grant; approval?: ApprovedAccess }
  /** `accessRequestId`: with APPROVAL_REQUIRED, the request already waiting for the user, if any. */
  | { allowed: false; code: RefusalCode; message: string; accessRequestId?: number | null; retryAfter?: Date }

const refuse = (code: RefusalCode): StartDecision => ({
  allowed: false,
  code,
  message: REFUSAL_MESSAGES[code],
})

function orgRolesWithPermission(user: PolicyUser) {
  return user.memberships.filter((m) => ORG_ROLE_PERMISSIONS[m.role].includes(IMPERSONATE_PERMISSION))
}

function sharesAdministeredOrganization(actor: PolicyUser, target: PolicyUser | null): boolean {
  return orgRolesWithPermission(actor).some((mine) =>
    target?.memberships.some((theirs) => theirs.organizationId === mine.organizationId),
  )
}

/**
 * The organizations whose members this user administers (role with `org:admin:impersonate`):
 * what an organization admin may see in the console (directory, audit, live impersonations).
 */
export function administeredOrganizationIds(user: PolicyUser): number[] {
  return orgRolesWithPermission(user).map((m) => m.organizationId)
}

/** Platform staff see every user and event in the console; org admins only their organizations'. */
export function seesWholePlatform(user: PolicyUser): boolean {
  return user.role === "SUPPORT" || user.role === "SUPERADMIN"
}

/** What a console viewer's lists (directory, live impersonations, audit) are limited to. */
export type ConsoleScope = { wholePlatform: true } | { wholePlatform: false; organizationIds: number[] }

export function consoleScope(viewer: PolicyUser): ConsoleScope {
  if (seesWholePlatform(viewer)) return { wholePlatform: true }
  return { wholePlatform: false, organizationIds: administeredOrganizationIds(viewer) }
}

/** Whether the viewer may end impersonations started by other admins (End in the console). */
export function endsAnyImpersonation(viewer: PolicyUser): boolean {
  return viewer.role === "SUPERADMIN"
}

/** Whether the user holds any right to impersonate (platform staff or an org admin). */
export function holdsImpersonationPermission(user: PolicyUser): boolean {
  return user.role !== "USER" || orgRolesWithPermission(user).length > 0
}

type GrantResult = { grant: Grant } | { code: RefusalCode }

/** The platform or organization right that lets `actor` act as `target`, ignoring consent. */
function findGrant(actor: PolicyUser, target: PolicyUser): GrantResult {
  if (actor.role === "SUPERADMIN") {
    return target.role === "SUPERADMIN"
      ? { code: "TARGET_PRIVILEGED" }
      : { grant: { kind: "PLATFORM", role: "SUPERADMIN" } }
  }
  if (actor.role === "SUPPORT") {
    if (target.role === "USER") return { grant: { kind: "PLATFORM", role: "SUPPORT" } }
    // Support staff who also administer an organization still never reach platform staff.
    return { code: "TARGET_PRIVILEGED" }
  }
  if (target.role !== "USER") return { code: "TARGET_PRIVILEGED" }
  // An organization role is no way into a user who holds more power elsewhere: the actor must
  // outrank the target in every organization the target belongs to.
  const mine = new Map(actor.memberships.map((m) => [m.organizationId, m.role]))
  const administered = orgRolesWithPermission(actor).filter((m) =>
    target.memberships.some((theirs) => theirs.organizationId === m.organizationId),
  )
  if (administered.length === 0) return { code: "NOT_SAME_ORG" }
  const outrankedEverywhere = target.memberships.every((theirs) => {
    const myRole = mine.get(theirs.organizationId)
    return myRole !== undefined && ORG_ROLE_RANK[myRole] > ORG_ROLE_RANK[theirs.role]
  })
  if (!outrankedEverywhere) return { code: "ORG_ROLE_NOT_LOWER" }
  const grantedBy = administered[0]!
  return { grant: { kind: "ORGANIZATION", organizationId: grantedBy.organizationId, role: grantedBy.role } }
}

export type StartRequest = {
  actor: PolicyUser
  target: PolicyUser | null
  /** True when the requesting session is itself an impersonation (never nested). */
  alreadyImpersonating: boolean
  reason: string
  enabled: boolean
  /** The admin's monthly quota and how much of it is used; absent: no quota. */
  quota?: { limit: number | null; usedThisMonth: number }
  /** READ_ONLY unless the admin chose read-write (rule 8). */
  mode?: ImpersonationMode
  /**
   * The step-up for read-write: the admin's own password, checked on the server before this
   * decision. MISSING: none given; WRONG: it did not match.
   */
  stepUp?: StepUp
  /** The latest access request by this actor for this target (consent ASK); absent: none. */
  approval?: AccessApproval | null
  /** When the decision is made (approvals expire); absent: now. */
  now?: Date
}

export type ImpersonationMode = "READ_ONLY" | "READ_WRITE"
export type StepUp = "VERIFIED" | "MISSING" | "WRONG"

export const STEP_UP_WRONG_PASSWORD = "Your password is not correct; read-write needs your own password"

/**
 * Rule 8's step-up: read-write only after the admin re-entered their password. Asked after
 * every other rule, so an impossible start never asks for (or counts) a password.
 */
export function decideStepUp(mode: ImpersonationMode, stepUp: StepUp): { allowed: true } | { allowed: false; code: "STEP_UP_REQUIRED"; message: string } {
  if (mode === "READ_ONLY" || stepUp === "VERIFIED") return { allowed: true }
  return {
    allowed: false,
    code: "STEP_UP_REQUIRED",
    message: stepUp === "WRONG" ? STEP_UP_WRONG_PASSWORD : REFUSAL_MESSAGES.STEP_UP_REQUIRED,
  }
}

/**
 * Whether `actor`, already known to hold an impersonation right, may act as this `target`
 * (rule 1): what the directory shows beside each row and what every start asks.
 */
export function decideTarget(actor: PolicyUser, target: PolicyUser | null): StartDecision {
  // Organization admins learn nothing about people outside their organizations: a missing
  // user and an outsider get the same answer.
  if (actor.role === "USER" && !sharesAdministeredOrganization(actor, target)) {
    return refuse("NOT_SAME_ORG")
  }
  if (!target) return refuse("TARGET_NOT_FOUND")
  if (target.id === actor.id) return refuse("SELF")
  const found = findGrant(actor, target)
  if ("code" in found) return refuse(found.code)
  if (target.status !== "ACTIVE") return refuse("TARGET_DISABLED")
  const consent = effectiveConsent(target)
  if (consent.consent === "NEVER") return refuse(consent.source === "USER" ? "TARGET_OPTED_OUT" : "ORGANIZATION_FORBIDS")
  return { allowed: true, grant: found.grant }
}

// ---------------------------------------------------------------------------------------------
// Rule 10: consent, the organization floor and access requests
// ---------------------------------------------------------------------------------------------

const CONSENT_RANK: Record<Consent, number> = { ALLOWED: 0, ASK: 1, NEVER: 2 }

/** The stricter of two consents. */
export function stricterConsent(a: Consent, b: Consent): Consent {
  return CONSENT_RANK[a] >= CONSENT_RANK[b] ? a : b
}

/**
 * The consent that applies to a user: their own setting, unless an organization they belong to
 * sets a stricter floor (the strictest of them). A member's setting can only make it stricter.
 */
export function effectiveConsent(user: Pick<PolicyUser, "impersonationConsent" | "memberships">): {
  consent: Consent
  source: "USER" | "ORGANIZATION"
  organizationId: number | null
} {
  let result = { consent: user.impersonationConsent, source: "USER" as "USER" | "ORGANIZATION", organizationId: null as number | null }
  for (const m of user.memberships) {
    const floor = m.consentFloor ?? "ALLOWED"
    if (CONSENT_RANK[floor] > CONSENT_RANK[result.consent]) {
      result = { consent: floor, source: "ORGANIZATION", organizationId: m.organizationId }
    }
  }
  return result
}

/** Who may set an organization's consent floor: its OWNERs only (never while impersonating). */
export function maySetConsentFloor(user: PolicyUser, organizationId: number): boolean {
  return (
    user.status === "ACTIVE" &&
    user.memberships.some((m) => m.organizationId === organizationId && m.role === "OWNER")
  )
}

export type AccessRequestStatus = "PENDING" | "APPROVED" | "DENIED" | "REVOKED"

/** An access request as the policy sees it: the latest by this admin for this user. */
export type AccessApproval = {
  id: number
  status: AccessRequestStatus
  /** A PENDING request unanswered by then has expired. */
  requestExpiresAt: Date
  /** APPROVED: the mode granted and until when. */
  approvedMode: ImpersonationMode | null
  expiresAt: Date | null
  decidedAt: Date | null
  revokedAt: Date | null
}

export type ApprovedAccess = { accessRequestId: number; until: Date; mode: ImpersonationMode }

/** Access requests unanswered this long expire (DESIGN.md rule 10: 24 hours). */
export const ACCESS_REQUEST_TTL_MS = 24 * 60 * 60_000
/** The longest approval a user can give. */
export const ACCESS_GRANT_MAX_HOURS = 24
/** After a denial or a revocation, the same admin's starts are refused this long (no nagging). */
export const ACCESS_REFUSAL_COOLDOWN_MS = ACCESS_REQUEST_TTL_MS

export type PublicAccessRequestStatus = "pending" | "approved" | "denied" | "revoked" | "expired"

/** The request's status as people see it: an unanswered request or an approval past its time has expired. */
export function accessRequestStatus(request: Omit<AccessApproval, "id">, now: Date): PublicAccessRequestStatus {
  switch (request.status) {
    case "PENDING":
      return request.requestExpiresAt.getTime() <= now.getTime() ? "expired" : "pending"
    case "APPROVED":
      return request.expiresAt && request.expiresAt.getTime() > now.getTime() ? "approved" : "expired"
    case "DENIED":
      return "denied"
    case "REVOKED":
      return "revoked"
  }
}

/**
 * A start against a user whose consent is ASK: allowed only under a live approval of this admin
 * (never in a mode beyond what was approved); otherwise APPROVAL_REQUIRED (the caller creates a
 * request, or points at the one still waiting), or, for a while after the user said no,
 * ACCESS_DENIED / ACCESS_REVOKED.
 */
export function decideApproval(input: {
  approval: AccessApproval | null
  mode: ImpersonationMode
  now: Date
}): { allowed: true; approval: ApprovedAccess } | Extract<StartDecision, { allowed: false }> {
  const { approval, mode, now } = input
  const refuseWith = (code: RefusalCode, extra: { accessRequestId?: number | null; retryAfter?: Date } = {}) => ({
    allowed: false as const,
    code,
    message: REFUSAL_MESSAGES[code],
    ...extra,
  })
  const status = approval ? accessRequestStatus(approval, now) : null
  if (!approval || status === "expired") return refuseWith("APPROVAL_REQUIRED", { accessRequestId: null })
  if (status === "pending") return refuseWith("APPROVAL_REQUIRED", { accessRequestId: approval.id })
  if (status === "denied" || status === "revoked") {
    const saidNoAt = (status === "denied" ? approval.decidedAt : approval.revokedAt) ?? now
    const retryAfter = new Date(saidNoAt.getTime() + ACCESS_REFUSAL_COOLDOWN_MS)
    if (retryAfter.getTime() > now.getTime()) {
      return refuseWith(status === "denied" ? "ACCESS_DENIED" : "ACCESS_REVOKED", { retryAfter })
    }
    return refuseWith("APPROVAL_REQUIRED", { accessRequestId: null })
  }
  const approvedMode = approval.approvedMode ?? "READ_ONLY"
  if (mode === "READ_WRITE" && approvedMode !== "READ_WRITE") return refuseWith("MODE_NOT_APPROVED")
  return { allowed: true, approval: { accessRequestId: approval.id, until: approval.expiresAt!, mode: approvedMode } }
}

/** Rules 1, 2 and 4 of DESIGN.md: may this start, and on what grant. */
export function decideImpersonationStart(request: StartRequest): StartDecision {
  const { actor } = request
  if (!request.enabled) return refuse("FEATURE_DISABLED")
  if (request.alreadyImpersonating) return refuse("ALREADY_IMPERSONATING")
  if (actor.status !== "ACTIVE") return refuse("ACTOR_INACTIVE")
  if (!holdsImpersonationPermission(actor)) return refuse("NO_PERMISSION")
  if (request.reason.trim().length === 0) return refuse("REASON_REQUIRED")
  const decision = decideTarget(actor, request.target)
  if (!decision.allowed) return decision
  if (request.quota) {
    const quota = decideQuota(request.quota)
    if (!quota.allowed) return quota
  }
  const mode = request.mode ?? "READ_ONLY"
  let approved: ApprovedAccess | undefined
  if (effectiveConsent(request.target!).consent === "ASK") {
    const approval = decideApproval({ approval: request.approval ?? null, mode, now: request.now ?? new Date() })
    if (!approval.allowed) return approval
    approved = approval.approval
  }
  const stepUp = decideStepUp(mode, request.stepUp ?? "MISSING")
  if (!stepUp.allowed) return stepUp
  return approved ? { ...decision, approval: approved } : decision
}

/** The first moment of the calendar month (UTC) that `now` falls in: quotas count from here. */
export function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
}

/**
 * The per-admin monthly quota (IMPERSONATION_MONTHLY_QUOTA): `usedThisMonth` counts the
 * admin's starts since `monthStart(now)`; null `limit` means no quota.
 */
export function decideQuota(input: {
  limit: number | null
  usedThisMonth: number
}): { allowed: true } | { allowed: false; code: "QUOTA"; message: string } {
  if (input.limit === null || input.usedThisMonth < input.limit) return { allowed: true }
  const times = input.limit === 1 ? "impersonation" : "impersonations"
  return {
    allowed: false,
    code: "QUOTA",
    message: `${REFUSAL_MESSAGES.QUOTA} of ${input.limit} ${times}; it renews on the 1st of next month (UTC)`,
  }
}

/** Rule 5: the time limit is fixed at the start and never extended. */
export function impersonationExpiresAt(startedAt: Date, ttlSeconds: number): Date {
  return new Date(startedAt.getTime() + ttlSeconds * 1000)
}

export type EndReason =
  | "STOPPED"
  | "EXPIRED"
  | "REPLACED"
  | "SIGNED_OUT"
  | "ACTOR_REVOKED"
  | "TARGET_REVOKED"
  | "ENDED_BY_ADMIN"
  | "FEATURE_DISABLED"
  | "PASSWORD_CHANGED"
  | "ENDED_BY_USER"

export type ActiveImpersonation = {
  expiresAt: Date
  endedAt: Date | null
  endReason: EndReason | null
}

export type Review =
  | { active: true }
  /**
   * `alreadyEnded`: someone else ended it before this request; nothing left to record.
   * `endedAt`: when it ended, never later than its time limit.
   */
  | { active: false; endReason: EndReason; alreadyEnded: boolean; endedAt: Date }

/**
 * Rules 5 and 7, asked at every request of an impersonation session: is it still on?
 * The actor's and target's current rows are passed in, so demotion, disabling and opt-out
 * take effect at the next request.
 */
export function reviewImpersonation(input: {
  impersonation: ActiveImpersonation
  actor: PolicyUser
  subject: PolicyUser
  now: Date
  enabled: boolean
  /** The user's approval it was started under (consent ASK), as it stands now; absent: none. */
  approval?: { status: AccessRequestStatus; expiresAt: Date | null } | null
}): Review {
  const { impersonation, actor, subject, now } = input
  const ended = (endReason: EndReason, alreadyEnded: boolean, at: Date): Review => ({
    active: false,
    endReason,
    alreadyEnded,
    endedAt: at.getTime() < impersonation.expiresAt.getTime() ? at : impersonation.expiresAt,
  })
  if (impersonation.endedAt) {
    return ended(impersonation.endReason ?? "STOPPED", true, impersonation.endedAt)
  }
  // An expiry noticed late is still recorded at the time limit, not when it was noticed.
  if (now.getTime() >= impersonation.expiresAt.getTime()) return ended("EXPIRED", false, now)
  if (!input.enabled) return ended("FEATURE_DISABLED", false, now)
  if (actor.status !== "ACTIVE" || "code" in findGrant(actor, subject)) {
    return ended("ACTOR_REVOKED", false, now)
  }
  const consent = effectiveConsent(subject).consent
  // "Never" (which also revokes the approvals in force) or a disabled user: the target's rights ended it.
  if (subject.status !== "ACTIVE" || consent === "NEVER") return ended("TARGET_REVOKED", false, now)
  // The user took back the approval it runs under: their End.
  if (input.approval?.status === "REVOKED") return ended("ENDED_BY_USER", false, now)
  if (consent === "ASK") {
    // Turned to "Ask me each time" (or an organization floor) with no live approval behind it.
    const approval = input.approval
    const live = approval?.status === "APPROVED" && approval.expiresAt !== null && approval.expiresAt.getTime() > now.getTime()
    if (!live) return ended("TARGET_REVOKED", false, now)
  }
  return { active: true }
}

/**
 * Rule 5: after an impersonation ends without a Stop press, its browser session may be handed
 * back to the admin only this long after the end, measured from the end itself. Later, the
 * impersonation's cookie is dead.
 */
export const HAND_BACK_WINDOW_MS = 5 * 60_000

/**
 * Whether a session of an impersonation that ended this way may be handed back to its admin:
 * not after the admin signed out everywhere or changed their password (no browser may come
 * back to them then, even one whose session was created a moment after the sign-out).
 */
export function handsBackAfter(endReason: EndReason): boolean {
  return endReason !== "SIGNED_OUT" && endReason !== "PASSWORD_CHANGED"
}

/** The last moment an impersonation's session may still be handed back to its admin. */
export function handBackDeadline(endedAt: Date): Date {
  return new Date(endedAt.getTime() + HAND_BACK_WINDOW_MS)
}

/**
 * An active user holding an impersonation right: who may open the admin console, and (rule 6)
 * whom a session may be returned to when an impersonation ends; otherwise it signs out.
 */
export function isActiveImpersonator(user: PolicyUser | null): user is PolicyUser {
  return user !== null && user.status === "ACTIVE" && holdsImpersonationPermission(user)
}

/** Rule 6, by its name in DESIGN.md. */
export const mayReturnToActor = isActiveImpersonator

/**
 * Who may press End on a live impersonation in the console: a SUPERADMIN any, everyone else
 * only their own (and only while they still hold the right to impersonate).
 */
export function mayEndImpersonation(viewer: PolicyUser, impersonation: { actorId: number }): boolean {
  if (!isActiveImpersonator(viewer)) return false
  return endsAnyImpersonation(viewer) || impersonation.actorId === viewer.id
}

/**
 * Which impersonations a console viewer sees under Active impersonations: platform staff all,
 * everyone else their own and those granted by an organization they administer.
 */
export function mayViewImpersonation(
  viewer: PolicyUser,
  impersonation: { actorId: number; organizationId: number | null },
): boolean {
  if (!isActiveImpersonator(viewer)) return false
  if (seesWholePlatform(viewer) || impersonation.actorId === viewer.id) return true
  const { organizationId } = impersonation
  return organizationId !== null && administeredOrganizationIds(viewer).includes(organizationId)
}

export const END_REFUSAL_MESSAGES = {
  IMPERSONATING: "Stop impersonating before you end impersonations in the admin console",
  NO_PERMISSION: "You do not have permission to end impersonations",
  NOT_FOUND: "There is no impersonation with that ID",
  ALREADY_ENDED: "This impersonation has already ended",
  NOT_YOURS: "Only a superadmin can end an impersonation started by another admin",
} as const

export type EndRefusalCode = keyof typeof END_REFUSAL_MESSAGES

export type EndDecision = { allowed: true } | { allowed: false; code: EndRefusalCode; message: string }

/**
 * End in the console (issue 6): may `viewer` end this impersonation now? Rows the viewer cannot
 * see are answered as unknown, so ids outside their organizations reveal nothing.
 */
export function decideEndImpersonation(input: {
  viewer: PolicyUser | null
  /** True when the viewer's own session is an impersonation: the console is closed to it. */
  viewerIsImpersonating: boolean
  impersonation: { actorId: number; organizationId: number | null; endedAt: Date | null; expiresAt: Date } | null
  now: Date
}): EndDecision {
  const { viewer, impersonation, now } = input
  const refuse = (code: EndRefusalCode): EndDecision => ({ allowed: false, code, message: END_REFUSAL_MESSAGES[code] })
  if (input.viewerIsImpersonating) return refuse("IMPERSONATING")
  if (!isActiveImpersonator(viewer)) return refuse("NO_PERMISSION")
  if (!impersonation || !mayViewImpersonation(viewer, impersonation)) return refuse("NOT_FOUND")
  // Past its time limit it is over, whether or not a request has recorded the expiry yet.
  if (impersonation.endedAt || impersonation.expiresAt.getTime() <= now.getTime()) return refuse("ALREADY_ENDED")
  if (!mayEndImpersonation(viewer, impersonation)) return refuse("NOT_YOURS")
  return { allowed: true }
}

/** The admin's monthly quota in words, for the console ("Used this month: 3 of 10"). */
export function describeQuota({ limit, usedThisMonth }: { limit: number | null; usedThisMonth: number }): string {
  if (limit === null) return `No monthly limit (${usedThisMonth} started this month)`
  return `Used this month: ${usedThisMonth} of ${limit}`
}

// ---------------------------------------------------------------------------------------------
// Actor tokens (DESIGN.md "Actor tokens"): redeeming a ticket, in whichever browser opens it
// ---------------------------------------------------------------------------------------------

export const ACTOR_TOKEN_REFUSAL_MESSAGES = {
  UNKNOWN: "This link is not valid. Ask the admin who sent it for a new one.",
  EXPIRED: "This link has expired. Ask the admin who sent it for a new one.",
  USED: "This link has already been used. Each link starts one impersonation only.",
  REVOKED: "This link has been revoked by an admin.",
  FOREIGN_ADMIN: "This link was created by another admin",
  FEATURE_DISABLED: REFUSAL_MESSAGES.FEATURE_DISABLED,
  ALREADY_IMPERSONATING: REFUSAL_MESSAGES.ALREADY_IMPERSONATING,
} as const

export type ActorTokenRefusalCode = keyof typeof ACTOR_TOKEN_REFUSAL_MESSAGES

/** A stored actor token as the redemption sees it; null when no token has the presented hash. */
export type ActorTokenState = {
  actorId: number
  status: "PENDING" | "USED" | "REVOKED"
  expiresAt: Date
} | null

/** Who holds the browser that presents the ticket (from the server's session row). */
export type RedeemingBrowser =
  | { signedIn: false }
  | { signedIn: true; userId: number; impersonating: boolean }

export type RedemptionDecision =
  /** `handBackToActor`: the browser held the admin's own session (consumed by the start). */
  | { allowed: true; handBackToActor: boolean }
  | { allowed: false; code: ActorTokenRefusalCode; message: string }

/**
 * May this browser redeem this ticket now? The token's own state first (what the page shows
 * anyone holding the link), then the off-switch, then the browser: a ticket works where no one
 * is signed in (the ticket is the credential) or in its own admin's session, never over an
 * impersonation (rule 2) and never in someone else's session, which keeps its session.
 * The start itself is then asked of `decideImpersonationStart`, as any start is.
 */
export function decideActorTokenRedemption(input: {
  token: ActorTokenState
  browser: RedeemingBrowser
  now: Date
  enabled: boolean
}): RedemptionDecision {
  const refuseToken = (code: ActorTokenRefusalCode): RedemptionDecision => ({
    allowed: false,
    code,
    message: ACTOR_TOKEN_REFUSAL_MESSAGES[code],
  })
  const { token, browser } = input
  if (!token) return refuseToken("UNKNOWN")
  if (token.status === "REVOKED") return refuseToken("REVOKED")
  if (token.status === "USED") return refuseToken("USED")
  if (input.now.getTime() >= token.expiresAt.getTime()) return refuseToken("EXPIRED")
  if (!input.enabled) return refuseToken("FEATURE_DISABLED")
  if (!browser.signedIn) return { allowed: true, handBackToActor: false }
  if (browser.impersonating) return refuseToken("ALREADY_IMPERSONATING")
  if (browser.userId !== token.actorId) return refuseToken("FOREIGN_ADMIN")
  return { allowed: true, handBackToActor: true }
}

/** When an actor token stops being redeemable, counted from its creation. */
export function actorTokenExpiresAt(createdAt: Date, ttlSeconds: number): Date {
  return new Date(createdAt.getTime() + ttlSeconds * 1000)
}

/**
 * Who may revoke an actor token: the admin who created it, and a SUPERADMIN any (as with End
 * in the console), so a link sent to the wrong place can be killed by someone on duty.
 */
export function mayRevokeActorToken(viewer: PolicyUser, token: { actorId: number }): boolean {
  if (token.actorId === viewer.id) return true
  return viewer.role === "SUPERADMIN" && viewer.status === "ACTIVE"
}

// ---------------------------------------------------------------------------------------------
// Rules 8 and 9: what an impersonated session may call.

export const CALL_REFUSAL_MESSAGES = {
  IMPERSONATION_READ_ONLY: "Read-only impersonation: this action is not allowed",
  IMPERSONATION_REFUSED_ACTION: "This action is never allowed while impersonating a user, in any mode",
} as const
export type CallRefusalCode = keyof typeof CALL_REFUSAL_MESSAGES

export type CallDecision =
  /** `gated`: audited as IMPERSONATED_MUTATION (false for the always-allowed and for queries). */
  | { allowed: true; gated: boolean }
  | { allowed: false; code: CallRefusalCode; message: string }

/**
 * May this RPC call run in an impersonated session? Queries read (masked); the always-allowed
 * (Stop, logout, Reveal) run ungated; the refused list is refused in every mode; any other
 * mutation, including one added later, needs a read-write impersonation.
 */
export function decideImpersonatedCall(input: {
  resolver: string
  kind: "query" | "mutation"
  mode: ImpersonationMode
  rails: { refusedActions: readonly string[]; alwaysAllowed: readonly string[] }
}): CallDecision {
  const { resolver, kind, mode, rails } = input
  const refuse = (code: CallRefusalCode): CallDecision => ({ allowed: false, code, message: CALL_REFUSAL_MESSAGES[code] })
  if (rails.refusedActions.includes(resolver)) return refuse("IMPERSONATION_REFUSED_ACTION")
  if (kind === "query") return { allowed: true, gated: false }
  if (rails.alwaysAllowed.includes(resolver)) return { allowed: true, gated: false }
  if (mode !== "READ_WRITE") return refuse("IMPERSONATION_READ_ONLY")
  return { allowed: true, gated: true }
}

/** How a sensitive value is shown while impersonating: its last 4 characters when it is long enough to keep them secret. */
export function maskValue(value: string | null): string | null {
  if (value === null) return null
  const visible = value.replace(/\s+/g, "")
  return visible.length >= 8 ? `•••• ${visible.slice(-4)}` : "••••"
}

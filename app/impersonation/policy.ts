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

export type PolicyUser = {
  id: number
  role: PlatformRole
  status: "ACTIVE" | "DISABLED"
  impersonationConsent: "ALLOWED" | "NEVER"
  memberships: ReadonlyArray<{ organizationId: number; role: OrgRole }>
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
  QUOTA: "You have used your monthly quota",
  STEP_UP_REQUIRED: "Enter your password to allow changes (read-write)",
} as const

export type RefusalCode = keyof typeof REFUSAL_MESSAGES

/** What entitles the actor to impersonate this target; recorded on the Impersonation row. */
export type Grant =
  | { kind: "PLATFORM"; role: "SUPPORT" | "SUPERADMIN" }
  | { kind: "ORGANIZATION"; organizationId: number; role: OrgRole }

export type StartDecision =
  | { allowed: true; grant: Grant }
  | { allowed: false; code: RefusalCode; message: string }

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
  if (target.impersonationConsent === "NEVER") return refuse("TARGET_OPTED_OUT")
  return { allowed: true, grant: found.grant }
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
  const stepUp = decideStepUp(request.mode ?? "READ_ONLY", request.stepUp ?? "MISSING")
  return stepUp.allowed ? decision : stepUp
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
  if (subject.status !== "ACTIVE" || subject.impersonationConsent === "NEVER") {
    return ended("TARGET_REVOKED", false, now)
  }
  return { active: true }
}

/**
 * Rule 5: after an impersonation ends without a Stop press, its browser session may be handed
 * back to the admin only this long after the end, measured from the end itself. Later, the
 * impersonation's cookie is dead.
 */
export const HAND_BACK_WINDOW_MS = 5 * 60_000

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

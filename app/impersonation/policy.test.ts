import { describe, expect, it } from "vitest"
import {
  type ActiveImpersonation,
  type EndReason,
  type Grant,
  type OrgRole,
  type PolicyUser,
  type RefusalCode,
  type StartDecision,
  type StartRequest,
  IMPERSONATE_PERMISSION,
  ORG_ROLE_PERMISSIONS,
  REFUSAL_MESSAGES,
  HAND_BACK_WINDOW_MS,
  handBackDeadline,
  handsBackAfter,
  decideImpersonationStart,
  decideQuota,
  decideTarget,
  mayEndImpersonation,
  administeredOrganizationIds,
  seesWholePlatform,
  consoleScope,
  monthStart,
  holdsImpersonationPermission,
  impersonationExpiresAt,
  mayReturnToActor,
  reviewImpersonation,
  actorTokenExpiresAt,
  decideActorTokenRedemption,
  mayRevokeActorToken,
  decideStepUp,
  decideImpersonatedCall,
  maskValue,
  CALL_REFUSAL_MESSAGES,
  STEP_UP_WRONG_PASSWORD,
  type AccessApproval,
} from "./policy"
import {
  type Consent,
  type ImpersonationMode,
  ACCESS_REFUSAL_COOLDOWN_MS,
  accessRequestStatus,
  decideApproval,
  effectiveConsent,
  maySetConsentFloor,
  stricterConsent,
} from "./policy"
import {
  type EndRefusalCode,
  END_REFUSAL_MESSAGES,
  decideEndImpersonation,
  describeQuota,
  mayViewImpersonation,
} from "./policy"

// ---------------------------------------------------------------------------------------------
// Factories
// ---------------------------------------------------------------------------------------------

let nextId = 1

function user(overrides: Partial<PolicyUser> = {}): PolicyUser {
  return {
    id: nextId++,
    role: "USER",
    status: "ACTIVE",
    impersonationConsent: "ALLOWED",
    memberships: [],
    ...overrides,
  }
}

function member(organizationId: number, role: OrgRole) {
  return { organizationId, role }
}

const ORG_1 = 101
const ORG_2 = 202
const ORG_3 = 303

const superadmin = (o: Partial<PolicyUser> = {}) => user({ role: "SUPERADMIN", ...o })
const support = (o: Partial<PolicyUser> = {}) => user({ role: "SUPPORT", ...o })
const orgUser = (organizationId: number, role: OrgRole, o: Partial<PolicyUser> = {}) =>
  user({ memberships: [member(organizationId, role)], ...o })

function request(
  actor: PolicyUser,
  target: PolicyUser | null,
  overrides: Partial<StartRequest> = {},
): StartRequest {
  return {
    actor,
    target,
    alreadyImpersonating: false,
    reason: "Ticket #4711: customer cannot see their invoices",
    enabled: true,
    ...overrides,
  }
}

function expectRefused(decision: StartDecision, code: RefusalCode) {
  expect(decision).toMatchObject({ allowed: false, code, message: expect.stringMatching(/./) })
  // Only the consent refusals carry more: the request waiting, or when to ask again.
  const extra = Object.keys(decision).filter((key) => !["allowed", "code", "message"].includes(key))
  expect(extra).toEqual(
    code === "APPROVAL_REQUIRED" ? ["accessRequestId"] : code === "ACCESS_DENIED" || code === "ACCESS_REVOKED" ? ["retryAfter"] : [],
  )
  // The quota refusal also names the quota; every other message is the code's own.
  if (code === "QUOTA") expect(decision).toMatchObject({ message: expect.stringContaining(REFUSAL_MESSAGES[code]) })
  else expect(decision).toMatchObject({ message: REFUSAL_MESSAGES[code] })
}

function expectAllowed(decision: StartDecision, grant: Grant) {
  expect(decision).toEqual({ allowed: true, grant })
}

// ---------------------------------------------------------------------------------------------
// Every refusal, as a table: used by the tests below and by the "every code is produced" check
// ---------------------------------------------------------------------------------------------

type RefusalScenario = { name: string; request: StartRequest; code: RefusalCode }

function refusalScenarios(): RefusalScenario[] {
  const orgOwner = orgUser(ORG_1, "OWNER")
  const orgAdmin = orgUser(ORG_1, "ADMIN")
  const sa = superadmin()
  const sup = support()
  return [
    // Platform staff boundaries
    {
      name: "SUPERADMIN -> another SUPERADMIN",
      request: request(sa, superadmin()),
      code: "TARGET_PRIVILEGED",
    },
    {
      name: "SUPPORT -> another SUPPORT",
      request: request(sup, support()),
      code: "TARGET_PRIVILEGED",
    },
    {
      name: "SUPPORT -> SUPERADMIN",
      request: request(sup, superadmin()),
      code: "TARGET_PRIVILEGED",
    },
    {
      name: "SUPPORT who is also org OWNER -> SUPPORT member of that org",
      request: request(
        support({ memberships: [member(ORG_1, "OWNER")] }),
        support({ memberships: [member(ORG_1, "MEMBER")] }),
      ),
      code: "TARGET_PRIVILEGED",
    },
    {
      name: "SUPPORT who is also org OWNER -> SUPERADMIN member of that org",
      request: request(
        support({ memberships: [member(ORG_1, "OWNER")] }),
        superadmin({ memberships: [member(ORG_1, "MEMBER")] }),
      ),
      code: "TARGET_PRIVILEGED",
    },
    // Organization admins
    {
      name: "org ADMIN -> org OWNER",
      request: request(orgAdmin, orgUser(ORG_1, "OWNER")),
      code: "ORG_ROLE_NOT_LOWER",
    },
    {
      name: "org ADMIN -> org ADMIN",
      request: request(orgAdmin, orgUser(ORG_1, "ADMIN")),
      code: "ORG_ROLE_NOT_LOWER",
    },
    {
      name: "org OWNER -> org OWNER",
      request: request(orgOwner, orgUser(ORG_1, "OWNER")),
      code: "ORG_ROLE_NOT_LOWER",
    },
    {
      name: "OWNER of org 1 -> MEMBER of org 2",
      request: request(orgOwner, orgUser(ORG_2, "MEMBER")),
      code: "NOT_SAME_ORG",
    },
    {
      name: "org OWNER -> user with no memberships",
      request: request(orgOwner, user()),
      code: "NOT_SAME_ORG",
    },
    {
      name: "org OWNER -> SUPPORT user who is a MEMBER of their org",
      request: request(orgOwner, support({ memberships: [member(ORG_1, "MEMBER")] })),
      code: "TARGET_PRIVILEGED",
    },
    {
      name: "org ADMIN -> SUPERADMIN who is a MEMBER of their org",
      request: request(orgAdmin, superadmin({ memberships: [member(ORG_1, "MEMBER")] })),
      code: "TARGET_PRIVILEGED",
    },
    // No right at all
    {
      name: "MEMBER-only user -> fellow MEMBER",
      request: request(orgUser(ORG_1, "MEMBER"), orgUser(ORG_1, "MEMBER")),
      code: "NO_PERMISSION",
    },
    {
      name: "plain USER with no memberships -> plain USER",
      request: request(user(), user()),
      code: "NO_PERMISSION",
    },
    // Generic rules
    {
      name: "SUPPORT -> themselves",
      request: (() => {
        const me = support()
        return request(me, me)
      })(),
      code: "SELF",
    },
    {
      name: "org OWNER -> themselves",
      request: request(orgOwner, orgOwner),
      code: "SELF",
    },
    {
      name: "SUPPORT -> unknown user (target null)",
      request: request(sup, null),
      code: "TARGET_NOT_FOUND",
    },
    {
      name: "SUPPORT -> disabled USER",
      request: request(sup, user({ status: "DISABLED" })),
      code: "TARGET_DISABLED",
    },
    {
      name: "org ADMIN -> disabled MEMBER of their org",
      request: request(orgAdmin, orgUser(ORG_1, "MEMBER", { status: "DISABLED" })),
      code: "TARGET_DISABLED",
    },
    {
      name: "SUPPORT -> USER who opted out (consent NEVER)",
      request: request(sup, user({ impersonationConsent: "NEVER" })),
      code: "TARGET_OPTED_OUT",
    },
    {
      name: "org OWNER -> MEMBER who opted out (consent NEVER)",
      request: request(orgOwner, orgUser(ORG_1, "MEMBER", { impersonationConsent: "NEVER" })),
      code: "TARGET_OPTED_OUT",
    },
    {
      name: "SUPPORT session that is already impersonating",
      request: request(sup, user(), { alreadyImpersonating: true }),
      code: "ALREADY_IMPERSONATING",
    },
    {
      name: "disabled SUPPORT actor",
      request: request(support({ status: "DISABLED" }), user()),
      code: "ACTOR_INACTIVE",
    },
    {
      name: "disabled org OWNER actor",
      request: request(orgUser(ORG_1, "OWNER", { status: "DISABLED" }), orgUser(ORG_1, "MEMBER")),
      code: "ACTOR_INACTIVE",
    },
    {
      name: "empty reason",
      request: request(sup, user(), { reason: "" }),
      code: "REASON_REQUIRED",
    },
    {
      name: "whitespace-only reason",
      request: request(sup, user(), { reason: "  \t\n  " }),
      code: "REASON_REQUIRED",
    },
    {
      name: "feature switched off (enabled false)",
      request: request(sup, user(), { enabled: false }),
      code: "FEATURE_DISABLED",
    },
    // Precedence that matters for security
    {
      name: "SUPERADMIN -> disabled USER",
      request: request(sa, user({ status: "DISABLED" })),
      code: "TARGET_DISABLED",
    },
    {
      name: "SUPERADMIN -> disabled SUPPORT user",
      request: request(sa, support({ status: "DISABLED" })),
      code: "TARGET_DISABLED",
    },
    {
      name: "SUPERADMIN -> themselves",
      request: request(sa, sa),
      code: "SELF",
    },
    {
      name: "SUPERADMIN -> USER who opted out",
      request: request(sa, user({ impersonationConsent: "NEVER" })),
      code: "TARGET_OPTED_OUT",
    },
    {
      name: "SUPERADMIN -> SUPPORT user who opted out",
      request: request(sa, support({ impersonationConsent: "NEVER" })),
      code: "TARGET_OPTED_OUT",
    },
    {
      name: "SUPERADMIN session already impersonating, valid target",
      request: request(sa, user(), { alreadyImpersonating: true }),
      code: "ALREADY_IMPERSONATING",
    },
    {
      name: "SUPERADMIN, feature switched off",
      request: request(sa, user(), { enabled: false }),
      code: "FEATURE_DISABLED",
    },
    {
      name: "disabled SUPERADMIN actor",
      request: request(superadmin({ status: "DISABLED" }), user()),
      code: "ACTOR_INACTIVE",
    },
    {
      name: "SUPERADMIN with whitespace-only reason",
      request: request(sa, user(), { reason: "   " }),
      code: "REASON_REQUIRED",
    },
    {
      name: "plain USER probing an unknown id learns only NO_PERMISSION",
      request: request(user(), null),
      code: "NO_PERMISSION",
    },
    {
      name: "org OWNER probing a disabled outsider learns only NOT_SAME_ORG",
      request: request(orgOwner, orgUser(ORG_2, "MEMBER", { status: "DISABLED" })),
      code: "NOT_SAME_ORG",
    },
    {
      name: "org OWNER probing an opted-out outsider learns only NOT_SAME_ORG",
      request: request(orgOwner, orgUser(ORG_2, "MEMBER", { impersonationConsent: "NEVER" })),
      code: "NOT_SAME_ORG",
    },
    {
      name: "start past the admin's monthly quota",
      request: request(sup, user(), { quota: { limit: 2, usedThisMonth: 2 } }),
      code: "QUOTA",
    },
    {
      name: "nested start from an org admin session",
      request: request(orgOwner, orgUser(ORG_1, "MEMBER"), { alreadyImpersonating: true }),
      code: "ALREADY_IMPERSONATING",
    },
    {
      name: "read-write without the step-up password",
      request: request(sup, user(), { mode: "READ_WRITE", stepUp: "MISSING" }),
      code: "STEP_UP_REQUIRED",
    },
    {
      name: "SUPPORT -> USER whose organization allows no staff access (floor NEVER)",
      request: request(sup, user({ memberships: [{ organizationId: ORG_3, role: "MEMBER", consentFloor: "NEVER" }] })),
      code: "ORGANIZATION_FORBIDS",
    },
    {
      name: "SUPPORT -> USER who asks each time, no request yet",
      request: request(sup, user({ impersonationConsent: "ASK" }), { approval: null, now: T0 }),
      code: "APPROVAL_REQUIRED",
    },
    {
      name: "SUPPORT -> USER who denied the request an hour ago",
      request: request(sup, user({ impersonationConsent: "ASK" }), {
        approval: approvalOf({ status: "DENIED", decidedAt: T0 }),
        now: new Date(T0.getTime() + 3_600_000),
      }),
      code: "ACCESS_DENIED",
    },
    {
      name: "SUPPORT -> USER who revoked the approval",
      request: request(sup, user({ impersonationConsent: "ASK" }), {
        approval: approvalOf({ status: "REVOKED", approvedMode: "READ_ONLY", expiresAt: new Date(T0.getTime() + 7_200_000), revokedAt: T0 }),
        now: new Date(T0.getTime() + 60_000),
      }),
      code: "ACCESS_REVOKED",
    },
    {
      name: "SUPPORT -> read-write under a read-only approval",
      request: request(sup, user({ impersonationConsent: "ASK" }), {
        approval: approvalOf({ status: "APPROVED", approvedMode: "READ_ONLY", expiresAt: new Date(T0.getTime() + 7_200_000), decidedAt: T0 }),
        now: new Date(T0.getTime() + 60_000),
        mode: "READ_WRITE",
        stepUp: "VERIFIED",
      }),
      code: "MODE_NOT_APPROVED",
    },
  ]
}

const T0 = new Date("2026-12-06T10:00:00Z")

function approvalOf(overrides: Partial<AccessApproval>): AccessApproval {
  return {
    id: 1,
    status: "PENDING",
    requestExpiresAt: new Date(T0.getTime() + 24 * 3_600_000),
    approvedMode: null,
    expiresAt: null,
    decidedAt: null,
    revokedAt: null,
    ...overrides,
  }
}

// ---------------------------------------------------------------------------------------------
// decideImpersonationStart
// ---------------------------------------------------------------------------------------------

describe("decideImpersonationStart: refusals", () => {
  it.each(refusalScenarios())("$name is refused with $code", ({ request, code }) => {
    expectRefused(decideImpersonationStart(request), code)
  })

  it("every code in REFUSAL_MESSAGES is produced by at least one scenario", () => {
    const produced = new Set<string>()
    for (const scenario of refusalScenarios()) {
      const decision = decideImpersonationStart(scenario.request)
      expect(decision.allowed).toBe(false)
      if (!decision.allowed) produced.add(decision.code)
    }
    expect([...produced].sort()).toEqual(Object.keys(REFUSAL_MESSAGES).sort())
  })

  it("every refusal carries the message of its code", () => {
    for (const scenario of refusalScenarios()) {
      const decision = decideImpersonationStart(scenario.request)
      if (decision.allowed) throw new Error(`${scenario.name} was allowed`)
      // The quota refusal also names the quota.
      expect(decision.message.startsWith(REFUSAL_MESSAGES[decision.code])).toBe(true)
    }
  })

  it.each(Object.entries(REFUSAL_MESSAGES))(
    "message for %s is a non-empty sentence",
    (code, text) => {
      expect(typeof text).toBe("string")
      expect(text.trim()).toBe(text)
      expect(text.length).toBeGreaterThan(10)
      expect(text).toMatch(/^[A-Z]/)
      expect(text.split(/\s+/).length).toBeGreaterThanOrEqual(3)
      expect(text).not.toContain(code)
    },
  )

  it("messages are distinct per code", () => {
    const texts = Object.values(REFUSAL_MESSAGES)
    expect(new Set(texts).size).toBe(texts.length)
  })
})

describe("decideImpersonationStart: SUPERADMIN", () => {
  const actor = superadmin()

  it("may impersonate an active plain USER with a PLATFORM/SUPERADMIN grant", () => {
    expectAllowed(decideImpersonationStart(request(actor, user())), {
      kind: "PLATFORM",
      role: "SUPERADMIN",
    })
  })

  it("may impersonate an active SUPPORT user with a PLATFORM/SUPERADMIN grant", () => {
    expectAllowed(decideImpersonationStart(request(actor, support())), {
      kind: "PLATFORM",
      role: "SUPERADMIN",
    })
  })

  it("may impersonate an org OWNER of any organization", () => {
    expectAllowed(decideImpersonationStart(request(actor, orgUser(ORG_2, "OWNER"))), {
      kind: "PLATFORM",
      role: "SUPERADMIN",
    })
  })

  it("may not impersonate another SUPERADMIN", () => {
    expectRefused(decideImpersonationStart(request(actor, superadmin())), "TARGET_PRIVILEGED")
  })
})

describe("decideImpersonationStart: SUPPORT", () => {
  it("may impersonate a plain USER with a PLATFORM/SUPPORT grant", () => {
    expectAllowed(decideImpersonationStart(request(support(), user())), {
      kind: "PLATFORM",
      role: "SUPPORT",
    })
  })

  it("may impersonate a plain USER who is an org OWNER somewhere", () => {
    expectAllowed(decideImpersonationStart(request(support(), orgUser(ORG_1, "OWNER"))), {
      kind: "PLATFORM",
      role: "SUPPORT",
    })
  })

  it("may not impersonate SUPPORT or SUPERADMIN", () => {
    expectRefused(decideImpersonationStart(request(support(), support())), "TARGET_PRIVILEGED")
    expectRefused(decideImpersonationStart(request(support(), superadmin())), "TARGET_PRIVILEGED")
  })

  it("who is also an org OWNER still cannot reach staff in that org", () => {
    const actor = support({ memberships: [member(ORG_1, "OWNER")] })
    const staff = support({ memberships: [member(ORG_1, "MEMBER")] })
    expectRefused(decideImpersonationStart(request(actor, staff)), "TARGET_PRIVILEGED")
  })
})

describe("decideImpersonationStart: organization admins", () => {
  it("grants org:admin:impersonate to OWNER and ADMIN only", () => {
    expect(ORG_ROLE_PERMISSIONS.OWNER).toContain(IMPERSONATE_PERMISSION)
    expect(ORG_ROLE_PERMISSIONS.ADMIN).toContain(IMPERSONATE_PERMISSION)
    expect(ORG_ROLE_PERMISSIONS.MEMBER).not.toContain(IMPERSONATE_PERMISSION)
    expect(IMPERSONATE_PERMISSION).toBe("org:admin:impersonate")
  })

  it("OWNER -> ADMIN of the same org is allowed with an ORGANIZATION grant", () => {
    expectAllowed(
      decideImpersonationStart(request(orgUser(ORG_1, "OWNER"), orgUser(ORG_1, "ADMIN"))),
      { kind: "ORGANIZATION", organizationId: ORG_1, role: "OWNER" },
    )
  })

  it("OWNER -> MEMBER of the same org is allowed", () => {
    expectAllowed(
      decideImpersonationStart(request(orgUser(ORG_1, "OWNER"), orgUser(ORG_1, "MEMBER"))),
      { kind: "ORGANIZATION", organizationId: ORG_1, role: "OWNER" },
    )
  })

  it("ADMIN -> MEMBER of the same org is allowed", () => {
    expectAllowed(
      decideImpersonationStart(request(orgUser(ORG_2, "ADMIN"), orgUser(ORG_2, "MEMBER"))),
      { kind: "ORGANIZATION", organizationId: ORG_2, role: "ADMIN" },
    )
  })

  it("ADMIN -> OWNER and ADMIN -> ADMIN are refused ORG_ROLE_NOT_LOWER", () => {
    const actor = orgUser(ORG_1, "ADMIN")
    expectRefused(
      decideImpersonationStart(request(actor, orgUser(ORG_1, "OWNER"))),
      "ORG_ROLE_NOT_LOWER",
    )
    expectRefused(
      decideImpersonationStart(request(actor, orgUser(ORG_1, "ADMIN"))),
      "ORG_ROLE_NOT_LOWER",
    )
  })

  it("OWNER of org 1 -> MEMBER of org 2 is refused NOT_SAME_ORG", () => {
    expectRefused(
      decideImpersonationStart(request(orgUser(ORG_1, "OWNER"), orgUser(ORG_2, "MEMBER"))),
      "NOT_SAME_ORG",
    )
  })

  it("an org admin gets the same answer for a missing user as for an outsider (no enumeration)", () => {
    const owner = orgUser(ORG_1, "OWNER")
    const missing = decideImpersonationStart(request(owner, null))
    const outsiderStaff = decideImpersonationStart(request(owner, superadmin()))
    const outsiderDisabled = decideImpersonationStart(
      request(owner, orgUser(ORG_2, "MEMBER", { status: "DISABLED" })),
    )
    expectRefused(missing, "NOT_SAME_ORG")
    expect(outsiderStaff).toEqual(missing)
    expect(outsiderDisabled).toEqual(missing)
  })

  it("org admin -> platform staff in their org is refused TARGET_PRIVILEGED", () => {
    const actor = orgUser(ORG_1, "OWNER")
    const staff = support({ memberships: [member(ORG_1, "MEMBER")] })
    expectRefused(decideImpersonationStart(request(actor, staff)), "TARGET_PRIVILEGED")
  })

  it("admin of two orgs -> MEMBER of the second: the grant names the second org", () => {
    const actor = user({ memberships: [member(ORG_1, "ADMIN"), member(ORG_2, "ADMIN")] })
    expectAllowed(decideImpersonationStart(request(actor, orgUser(ORG_2, "MEMBER"))), {
      kind: "ORGANIZATION",
      organizationId: ORG_2,
      role: "ADMIN",
    })
  })

  it("shares two orgs, lower only in the second: refused, the target outranks nobody's grant", () => {
    const actor = user({ memberships: [member(ORG_1, "ADMIN"), member(ORG_2, "OWNER")] })
    const target = user({ memberships: [member(ORG_1, "ADMIN"), member(ORG_2, "MEMBER")] })
    expectRefused(decideImpersonationStart(request(actor, target)), "ORG_ROLE_NOT_LOWER")
  })

  it("an ADMIN cannot reach their OWNER through a second shared organization (security review #2)", () => {
    const ACME = ORG_1
    const SIDE = ORG_2
    const adam = user({ memberships: [member(ACME, "ADMIN"), member(SIDE, "ADMIN")] })
    const olive = user({ memberships: [member(ACME, "OWNER"), member(SIDE, "MEMBER")] })
    expectRefused(decideImpersonationStart(request(adam, olive)), "ORG_ROLE_NOT_LOWER")
  })

  it("refuses a target who also belongs to an organization the actor is not in", () => {
    const actor = user({ memberships: [member(ORG_1, "OWNER")] })
    const target = user({ memberships: [member(ORG_1, "MEMBER"), member(ORG_3, "MEMBER")] })
    expectRefused(decideImpersonationStart(request(actor, target)), "ORG_ROLE_NOT_LOWER")
  })

  it("allows a target outranked in every one of their organizations, one of them administered", () => {
    const actor = user({ memberships: [member(ORG_1, "ADMIN"), member(ORG_2, "ADMIN")] })
    const target = user({ memberships: [member(ORG_1, "MEMBER"), member(ORG_2, "MEMBER")] })
    expectAllowed(decideImpersonationStart(request(actor, target)), {
      kind: "ORGANIZATION",
      organizationId: ORG_1,
      role: "ADMIN",
    })
  })

  it("a MEMBER membership gives no right in that org even when admin of another", () => {
    const actor = user({ memberships: [member(ORG_1, "MEMBER"), member(ORG_2, "ADMIN")] })
    expectRefused(
      decideImpersonationStart(request(actor, orgUser(ORG_1, "MEMBER"))),
      "NOT_SAME_ORG",
    )
  })
})

describe("decideImpersonationStart: no right at all", () => {
  it("a MEMBER-only user is refused NO_PERMISSION", () => {
    expectRefused(
      decideImpersonationStart(request(orgUser(ORG_1, "MEMBER"), orgUser(ORG_1, "MEMBER"))),
      "NO_PERMISSION",
    )
  })

  it("a plain user with no memberships is refused NO_PERMISSION", () => {
    expectRefused(decideImpersonationStart(request(user(), user())), "NO_PERMISSION")
  })
})

describe("decideImpersonationStart: generic rules", () => {
  it("never self", () => {
    const me = support()
    expectRefused(decideImpersonationStart(request(me, me)), "SELF")
    // A fresh copy of the same row (as loaded from the database) is still self.
    expectRefused(decideImpersonationStart(request(me, { ...me })), "SELF")
  })

  it("target not found", () => {
    expectRefused(decideImpersonationStart(request(support(), null)), "TARGET_NOT_FOUND")
  })

  it("disabled target", () => {
    expectRefused(
      decideImpersonationStart(request(support(), user({ status: "DISABLED" }))),
      "TARGET_DISABLED",
    )
  })

  it("target opted out (consent NEVER)", () => {
    expectRefused(
      decideImpersonationStart(request(support(), user({ impersonationConsent: "NEVER" }))),
      "TARGET_OPTED_OUT",
    )
  })

  it("never nested", () => {
    expectRefused(
      decideImpersonationStart(request(support(), user(), { alreadyImpersonating: true })),
      "ALREADY_IMPERSONATING",
    )
  })

  it("disabled actor", () => {
    expectRefused(
      decideImpersonationStart(request(support({ status: "DISABLED" }), user())),
      "ACTOR_INACTIVE",
    )
  })

  it("reason required: empty and whitespace-only are refused, any text is accepted", () => {
    expectRefused(
      decideImpersonationStart(request(support(), user(), { reason: "" })),
      "REASON_REQUIRED",
    )
    expectRefused(
      decideImpersonationStart(request(support(), user(), { reason: " \t \n " })),
      "REASON_REQUIRED",
    )
    expectAllowed(decideImpersonationStart(request(support(), user(), { reason: "  x  " })), {
      kind: "PLATFORM",
      role: "SUPPORT",
    })
  })

  it("feature disabled", () => {
    expectRefused(
      decideImpersonationStart(request(support(), user(), { enabled: false })),
      "FEATURE_DISABLED",
    )
  })
})

describe("decideImpersonationStart: precedence for SUPERADMIN", () => {
  const actor = superadmin()

  it("a disabled target is still refused", () => {
    expectRefused(
      decideImpersonationStart(request(actor, user({ status: "DISABLED" }))),
      "TARGET_DISABLED",
    )
  })

  it("self is still refused", () => {
    expectRefused(decideImpersonationStart(request(actor, actor)), "SELF")
  })

  it("an opted-out target is still refused", () => {
    expectRefused(
      decideImpersonationStart(request(actor, user({ impersonationConsent: "NEVER" }))),
      "TARGET_OPTED_OUT",
    )
  })

  it("nested wins even for SUPERADMIN", () => {
    expectRefused(
      decideImpersonationStart(request(actor, user(), { alreadyImpersonating: true })),
      "ALREADY_IMPERSONATING",
    )
  })

  it("the off-switch wins even for SUPERADMIN", () => {
    expectRefused(
      decideImpersonationStart(request(actor, user(), { enabled: false })),
      "FEATURE_DISABLED",
    )
  })
})

// ---------------------------------------------------------------------------------------------
// holdsImpersonationPermission / mayReturnToActor
// ---------------------------------------------------------------------------------------------

describe("holdsImpersonationPermission", () => {
  it.each<[string, PolicyUser, boolean]>([
    ["SUPERADMIN", superadmin(), true],
    ["SUPPORT", support(), true],
    ["org OWNER", orgUser(ORG_1, "OWNER"), true],
    ["org ADMIN", orgUser(ORG_1, "ADMIN"), true],
    ["MEMBER-only user", orgUser(ORG_1, "MEMBER"), false],
    ["plain user with no memberships", user(), false],
    [
      "MEMBER of one org and ADMIN of another",
      user({ memberships: [member(ORG_1, "MEMBER"), member(ORG_2, "ADMIN")] }),
      true,
    ],
  ])("%s -> %s", (_label, subject, expected) => {
    expect(holdsImpersonationPermission(subject)).toBe(expected)
  })
})

describe("mayReturnToActor", () => {
  it("null actor (deleted) -> false", () => {
    expect(mayReturnToActor(null)).toBe(false)
  })

  it("disabled actor -> false", () => {
    expect(mayReturnToActor(support({ status: "DISABLED" }))).toBe(false)
    expect(mayReturnToActor(superadmin({ status: "DISABLED" }))).toBe(false)
    expect(mayReturnToActor(orgUser(ORG_1, "ADMIN", { status: "DISABLED" }))).toBe(false)
  })

  it("demoted to USER with no admin membership -> false", () => {
    expect(mayReturnToActor(user())).toBe(false)
    expect(mayReturnToActor(orgUser(ORG_1, "MEMBER"))).toBe(false)
  })

  it("active SUPPORT -> true", () => {
    expect(mayReturnToActor(support())).toBe(true)
  })

  it("active SUPERADMIN -> true", () => {
    expect(mayReturnToActor(superadmin())).toBe(true)
  })

  it("active org ADMIN -> true", () => {
    expect(mayReturnToActor(orgUser(ORG_1, "ADMIN"))).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// impersonationExpiresAt
// ---------------------------------------------------------------------------------------------

describe("impersonationExpiresAt", () => {
  const startedAt = new Date("2025-03-04T10:00:00.000Z")

  it("adds exactly ttl seconds (20 minutes default)", () => {
    expect(impersonationExpiresAt(startedAt, 1200).toISOString()).toBe("2025-03-04T10:20:00.000Z")
    expect(impersonationExpiresAt(startedAt, 1200).getTime() - startedAt.getTime()).toBe(1_200_000)
  })

  it("adds exactly ttl seconds for other values", () => {
    expect(impersonationExpiresAt(startedAt, 1).getTime() - startedAt.getTime()).toBe(1000)
    expect(impersonationExpiresAt(startedAt, 300).toISOString()).toBe("2025-03-04T10:05:00.000Z")
    expect(impersonationExpiresAt(startedAt, 0).getTime()).toBe(startedAt.getTime())
  })

  it("does not mutate startedAt", () => {
    impersonationExpiresAt(startedAt, 600)
    expect(startedAt.toISOString()).toBe("2025-03-04T10:00:00.000Z")
  })
})

// ---------------------------------------------------------------------------------------------
// reviewImpersonation
// ---------------------------------------------------------------------------------------------

describe("reviewImpersonation", () => {
  const startedAt = new Date("2025-03-04T10:00:00.000Z")
  const expiresAt = impersonationExpiresAt(startedAt, 1200)
  const at = (msFromStart: number) => new Date(startedAt.getTime() + msFromStart)

  const running = (o: Partial<ActiveImpersonation> = {}): ActiveImpersonation => ({
    expiresAt,
    endedAt: null,
    endReason: null,
    ...o,
  })

  function review(
    o: {
      impersonation?: ActiveImpersonation
      actor?: PolicyUser
      subject?: PolicyUser
      now?: Date
      enabled?: boolean
    } = {},
  ) {
    return reviewImpersonation({
      impersonation: o.impersonation ?? running(),
      actor: o.actor ?? support(),
      subject: o.subject ?? user(),
      now: o.now ?? at(60_000),
      enabled: o.enabled ?? true,
    })
  }

  it("is active within the time limit", () => {
    expect(review({ now: startedAt })).toEqual({ active: true })
    expect(review({ now: at(10 * 60_000) })).toEqual({ active: true })
    expect(review({ now: new Date(expiresAt.getTime() - 1) })).toEqual({ active: true })
  })

  it("is active for an org admin who still outranks the member", () => {
    expect(review({ actor: orgUser(ORG_1, "OWNER"), subject: orgUser(ORG_1, "MEMBER") })).toEqual({
      active: true,
    })
  })

  const expired = { active: false, endReason: "EXPIRED", alreadyEnded: false, endedAt: expiresAt }

  it("expires exactly at expiresAt", () => {
    expect(review({ now: new Date(expiresAt.getTime()) })).toEqual(expired)
  })

  it("stays expired after expiresAt, and the end is dated at the limit, not when noticed", () => {
    expect(review({ now: new Date(expiresAt.getTime() + 1) })).toEqual(expired)
    expect(review({ now: at(24 * 3600_000) })).toEqual(expired)
  })

  it.each<EndReason>(["STOPPED", "EXPIRED", "REPLACED", "ACTOR_REVOKED", "TARGET_REVOKED"])(
    "a row already ended with %s returns that reason, alreadyEnded true",
    (endReason) => {
      expect(review({ impersonation: running({ endedAt: at(30_000), endReason }) })).toEqual({
        active: false,
        endReason,
        alreadyEnded: true,
        endedAt: at(30_000),
      })
    },
  )

  it("an ended row keeps its recorded reason even after expiry or revocation", () => {
    const impersonation = running({ endedAt: at(30_000), endReason: "REPLACED" })
    const ended = { active: false, endReason: "REPLACED", alreadyEnded: true, endedAt: at(30_000) }
    expect(review({ impersonation, now: at(3600_000) })).toEqual(ended)
    expect(review({ impersonation, actor: support({ status: "DISABLED" }) })).toEqual(ended)
    expect(review({ impersonation, enabled: false })).toEqual(ended)
  })

  it("an ended row with no recorded reason counts as STOPPED", () => {
    expect(review({ impersonation: running({ endedAt: at(30_000), endReason: null }) })).toEqual({
      active: false,
      endReason: "STOPPED",
      alreadyEnded: true,
      endedAt: at(30_000),
    })
  })

  it("an end recorded after the time limit counts from the limit", () => {
    const late = running({ endedAt: at(3600_000), endReason: "REPLACED" })
    expect(review({ impersonation: late, now: at(3600_000) })).toMatchObject({ endedAt: expiresAt })
  })

  // review() asks at one minute into the impersonation: that is when these end.
  const actorRevoked = { active: false, endReason: "ACTOR_REVOKED", alreadyEnded: false, endedAt: at(60_000) }
  const targetRevoked = { active: false, endReason: "TARGET_REVOKED", alreadyEnded: false, endedAt: at(60_000) }

  it("actor demoted from SUPPORT to USER -> ACTOR_REVOKED", () => {
    expect(review({ actor: user() })).toEqual(actorRevoked)
  })

  it("actor disabled -> ACTOR_REVOKED", () => {
    expect(review({ actor: support({ status: "DISABLED" }) })).toEqual(actorRevoked)
    expect(review({ actor: superadmin({ status: "DISABLED" }) })).toEqual(actorRevoked)
  })

  it("org admin lost their org role -> ACTOR_REVOKED", () => {
    const subject = orgUser(ORG_1, "MEMBER")
    expect(review({ actor: orgUser(ORG_1, "MEMBER"), subject })).toEqual(actorRevoked)
    expect(review({ actor: user(), subject })).toEqual(actorRevoked)
    // Still an admin, but of another organization only.
    expect(review({ actor: orgUser(ORG_2, "ADMIN"), subject })).toEqual(actorRevoked)
  })

  it("org admin whose subject joined an organization where they are not outranked -> ACTOR_REVOKED", () => {
    const actor = user({ memberships: [member(ORG_1, "ADMIN")] })
    const subject = user({ memberships: [member(ORG_1, "MEMBER"), member(ORG_2, "MEMBER")] })
    expect(review({ actor, subject })).toEqual(actorRevoked)
  })

  it("org admin no longer outranks the subject -> ACTOR_REVOKED", () => {
    expect(review({ actor: orgUser(ORG_1, "ADMIN"), subject: orgUser(ORG_1, "ADMIN") })).toEqual(
      actorRevoked,
    )
  })

  it("feature switched off (enabled false) -> FEATURE_DISABLED, before any other reason", () => {
    const featureDisabled = { ...actorRevoked, endReason: "FEATURE_DISABLED" }
    expect(review({ enabled: false })).toEqual(featureDisabled)
    expect(review({ actor: superadmin(), enabled: false })).toEqual(featureDisabled)
    expect(review({ actor: user(), enabled: false })).toEqual(featureDisabled)
  })

  it("subject disabled -> TARGET_REVOKED", () => {
    expect(review({ subject: user({ status: "DISABLED" }) })).toEqual(targetRevoked)
    expect(review({ actor: superadmin(), subject: user({ status: "DISABLED" }) })).toEqual(
      targetRevoked,
    )
  })

  it("subject opted out -> TARGET_REVOKED", () => {
    expect(review({ subject: user({ impersonationConsent: "NEVER" }) })).toEqual(targetRevoked)
    expect(
      review({
        actor: orgUser(ORG_1, "OWNER"),
        subject: orgUser(ORG_1, "MEMBER", { impersonationConsent: "NEVER" }),
      }),
    ).toEqual(targetRevoked)
  })

  it("does not read the clock: the same input gives the same answer", () => {
    const now = new Date(expiresAt.getTime() - 1)
    const actor = support()
    const subject = user()
    const first = reviewImpersonation({
      impersonation: running(),
      actor,
      subject,
      now,
      enabled: true,
    })
    const second = reviewImpersonation({
      impersonation: running(),
      actor,
      subject,
      now,
      enabled: true,
    })
    expect(first).toEqual({ active: true })
    expect(second).toEqual(first)
  })
})

describe("handsBackAfter", () => {
  it("hands back after any end but a sign-out everywhere or a password change", () => {
    expect(handsBackAfter("STOPPED")).toBe(true)
    expect(handsBackAfter("EXPIRED")).toBe(true)
    expect(handsBackAfter("ENDED_BY_USER")).toBe(true)
    expect(handsBackAfter("SIGNED_OUT")).toBe(false)
    expect(handsBackAfter("PASSWORD_CHANGED")).toBe(false)
  })
})

describe("handBackDeadline", () => {
  it("is five minutes after the end, whenever the end is noticed", () => {
    const endedAt = new Date("2025-03-04T10:20:00.000Z")
    expect(HAND_BACK_WINDOW_MS).toBe(5 * 60_000)
    expect(handBackDeadline(endedAt).toISOString()).toBe("2025-03-04T10:25:00.000Z")
  })
})

describe("decideQuota", () => {
  it("allows any number of starts without a quota", () => {
    expect(decideQuota({ limit: null, usedThisMonth: 10_000 })).toEqual({ allowed: true })
  })

  it("allows starts below the quota and refuses at it, naming the quota", () => {
    expect(decideQuota({ limit: 3, usedThisMonth: 2 })).toEqual({ allowed: true })
    const refused = decideQuota({ limit: 3, usedThisMonth: 3 })
    expect(refused).toMatchObject({ allowed: false, code: "QUOTA" })
    expect(refused.allowed === false && refused.message).toContain("monthly quota of 3 impersonations")
    expect(decideQuota({ limit: 1, usedThisMonth: 5 })).toMatchObject({ allowed: false, code: "QUOTA" })
  })
})

describe("monthStart", () => {
  it("is the first instant of the UTC calendar month", () => {
    expect(monthStart(new Date("2026-12-31T23:59:59.999Z")).toISOString()).toBe("2026-12-01T00:00:00.000Z")
    expect(monthStart(new Date("2027-01-01T00:00:00.000Z")).toISOString()).toBe("2027-01-01T00:00:00.000Z")
  })
})

describe("decideTarget", () => {
  it("gives the directory the same answer a start would, without the request checks", () => {
    const actor = support()
    expect(decideTarget(actor, user())).toMatchObject({ allowed: true })
    expect(decideTarget(actor, actor)).toMatchObject({ allowed: false, code: "SELF", message: "You cannot impersonate yourself" })
    expect(decideTarget(actor, superadmin())).toMatchObject({ allowed: false, code: "TARGET_PRIVILEGED" })
    expect(decideTarget(actor, user({ status: "DISABLED" }))).toMatchObject({ allowed: false, code: "TARGET_DISABLED" })
    expect(decideTarget(orgUser(ORG_1, "ADMIN"), orgUser(ORG_2, "MEMBER"))).toMatchObject({ code: "NOT_SAME_ORG" })
  })
})

describe("mayEndImpersonation", () => {
  it("lets a SUPERADMIN end any impersonation and everyone else only their own", () => {
    const sa = superadmin()
    const sup = support()
    const admin = orgUser(ORG_1, "ADMIN")
    expect(mayEndImpersonation(sa, { actorId: sup.id })).toBe(true)
    expect(mayEndImpersonation(sup, { actorId: sup.id })).toBe(true)
    expect(mayEndImpersonation(sup, { actorId: sa.id })).toBe(false)
    expect(mayEndImpersonation(admin, { actorId: admin.id })).toBe(true)
    expect(mayEndImpersonation(admin, { actorId: sup.id })).toBe(false)
  })

  it("refuses anyone who no longer holds the right, even for their own", () => {
    const demoted = user()
    expect(mayEndImpersonation(demoted, { actorId: demoted.id })).toBe(false)
    const disabled = superadmin({ status: "DISABLED" })
    expect(mayEndImpersonation(disabled, { actorId: 999 })).toBe(false)
  })
})

describe("console scope", () => {
  it("org admins see the organizations they administer, platform staff the whole platform", () => {
    const owner = user({ memberships: [member(ORG_1, "OWNER"), member(ORG_2, "MEMBER"), member(ORG_3, "ADMIN")] })
    expect(administeredOrganizationIds(owner).sort()).toEqual([ORG_1, ORG_3])
    expect(administeredOrganizationIds(orgUser(ORG_1, "MEMBER"))).toEqual([])
    expect(seesWholePlatform(owner)).toBe(false)
    expect(seesWholePlatform(support())).toBe(true)
    expect(seesWholePlatform(superadmin())).toBe(true)
    expect(seesWholePlatform(user())).toBe(false)
    expect(consoleScope(owner)).toEqual({ wholePlatform: false, organizationIds: [ORG_1, ORG_3] })
    expect(consoleScope(support())).toEqual({ wholePlatform: true })
  })
})

// ---------------------------------------------------------------------------------------------
// Active impersonations in the console: who sees which, who may press End (issue 6, item 4)
// ---------------------------------------------------------------------------------------------

describe("mayViewImpersonation", () => {
  it("shows platform staff every impersonation and org admins their own and their organizations'", () => {
    const sa = superadmin()
    const sup = support()
    const admin = orgUser(ORG_1, "ADMIN")
    const elsewhere = { actorId: 9_001, organizationId: ORG_2 }
    const inOrg1 = { actorId: 9_002, organizationId: ORG_1 }
    const platform = { actorId: 9_003, organizationId: null }
    for (const row of [elsewhere, inOrg1, platform]) {
      expect(mayViewImpersonation(sa, row)).toBe(true)
      expect(mayViewImpersonation(sup, row)).toBe(true)
    }
    expect(mayViewImpersonation(admin, inOrg1)).toBe(true)
    expect(mayViewImpersonation(admin, { actorId: admin.id, organizationId: null })).toBe(true)
    expect(mayViewImpersonation(admin, elsewhere)).toBe(false)
    expect(mayViewImpersonation(admin, platform)).toBe(false)
    // A member of the organization does not administer it.
    expect(mayViewImpersonation(orgUser(ORG_1, "MEMBER"), inOrg1)).toBe(false)
    expect(mayViewImpersonation(support({ status: "DISABLED" }), platform)).toBe(false)
  })
})

describe("decideEndImpersonation", () => {
  const now = new Date("2026-12-02T12:00:00Z")
  const live = (actorId: number, organizationId: number | null = null) => ({
    actorId,
    organizationId,
    endedAt: null,
    expiresAt: new Date(now.getTime() + 60_000),
  })
  const decide = (
    viewer: PolicyUser | null,
    impersonation: Parameters<typeof decideEndImpersonation>[0]["impersonation"],
    viewerIsImpersonating = false,
  ) => decideEndImpersonation({ viewer, impersonation, viewerIsImpersonating, now })
  const refused = (code: EndRefusalCode) => ({ allowed: false, code, message: END_REFUSAL_MESSAGES[code] })

  it("lets a superadmin end any live impersonation and others only their own", () => {
    const sa = superadmin()
    const sup = support()
    const admin = orgUser(ORG_1, "OWNER")
    expect(decide(sa, live(sup.id))).toEqual({ allowed: true })
    expect(decide(sup, live(sup.id))).toEqual({ allowed: true })
    expect(decide(sup, live(sa.id))).toEqual(refused("NOT_YOURS"))
    expect(decide(admin, live(admin.id, ORG_1))).toEqual({ allowed: true })
    expect(decide(admin, live(9_004, ORG_1))).toEqual(refused("NOT_YOURS"))
  })

  it("answers unknown and out-of-scope ids alike, and ended or expired ones as already ended", () => {
    const admin = orgUser(ORG_1, "ADMIN")
    expect(decide(admin, null)).toEqual(refused("NOT_FOUND"))
    expect(decide(admin, live(9_005, ORG_2))).toEqual(refused("NOT_FOUND"))
    expect(decide(admin, live(9_006, null))).toEqual(refused("NOT_FOUND"))
    const ended = { ...live(admin.id, ORG_1), endedAt: new Date(now.getTime() - 1000) }
    expect(decide(admin, ended)).toEqual(refused("ALREADY_ENDED"))
    const expired = { ...live(admin.id, ORG_1), expiresAt: now }
    expect(decide(admin, expired)).toEqual(refused("ALREADY_ENDED"))
  })

  it("refuses an impersonating session and anyone without the right, whatever the row", () => {
    const sa = superadmin()
    expect(decide(sa, live(sa.id), true)).toEqual(refused("IMPERSONATING"))
    expect(decide(sa, null, true)).toEqual(refused("IMPERSONATING"))
    expect(decide(null, live(1))).toEqual(refused("NO_PERMISSION"))
    const demoted = user()
    expect(decide(demoted, live(demoted.id))).toEqual(refused("NO_PERMISSION"))
    expect(decide(superadmin({ status: "DISABLED" }), live(1))).toEqual(refused("NO_PERMISSION"))
  })
})

describe("describeQuota", () => {
  it("names the limit and the use, or says there is none", () => {
    expect(describeQuota({ limit: 10, usedThisMonth: 3 })).toBe("Used this month: 3 of 10")
    expect(describeQuota({ limit: null, usedThisMonth: 4 })).toBe("No monthly limit (4 started this month)")
  })
})

describe("decideActorTokenRedemption", () => {
  const now = new Date("2026-12-02T12:00:00.000Z")
  const admin = 7
  const pending = { actorId: admin, status: "PENDING" as const, expiresAt: new Date(now.getTime() + 60_000) }
  const signedOut = { signedIn: false as const }
  const asAdmin = { signedIn: true as const, userId: admin, impersonating: false }
  const decide = (overrides: Partial<Parameters<typeof decideActorTokenRedemption>[0]> = {}) =>
    decideActorTokenRedemption({ token: pending, browser: signedOut, now, enabled: true, ...overrides })

  it("lets a browser with no session redeem a pending ticket, never handing it to the admin", () => {
    expect(decide()).toEqual({ allowed: true, handBackToActor: false })
  })

  it("lets the ticket's own admin redeem it in their session, which is handed back at the end", () => {
    expect(decide({ browser: asAdmin })).toEqual({ allowed: true, handBackToActor: true })
  })

  it("refuses a browser signed in as anyone else, in the exact words", () => {
    const other = { signedIn: true as const, userId: admin + 1, impersonating: false }
    expect(decide({ browser: other })).toEqual({
      allowed: false,
      code: "FOREIGN_ADMIN",
      message: "This link was created by another admin",
    })
  })

  it("never nests: a session that is an impersonation is refused, even one whose user is the admin", () => {
    for (const userId of [admin, admin + 1]) {
      expect(decide({ browser: { signedIn: true, userId, impersonating: true } })).toMatchObject({
        allowed: false,
        code: "ALREADY_IMPERSONATING",
        message: REFUSAL_MESSAGES.ALREADY_IMPERSONATING,
      })
    }
  })

  it("refuses unknown, revoked and used tickets whoever presents them", () => {
    for (const browser of [signedOut, asAdmin]) {
      expect(decide({ token: null, browser })).toMatchObject({ allowed: false, code: "UNKNOWN" })
      expect(decide({ token: { ...pending, status: "REVOKED" }, browser })).toMatchObject({ code: "REVOKED" })
      expect(decide({ token: { ...pending, status: "USED" }, browser })).toMatchObject({ code: "USED" })
    }
  })

  it("refuses an expired ticket from the instant of its expiry, and allows it a millisecond before", () => {
    expect(decide({ now: pending.expiresAt })).toMatchObject({ allowed: false, code: "EXPIRED" })
    expect(decide({ now: new Date(pending.expiresAt.getTime() + 1) })).toMatchObject({ code: "EXPIRED" })
    expect(decide({ now: new Date(pending.expiresAt.getTime() - 1) })).toMatchObject({ allowed: true })
  })

  it("refuses every redemption while the off-switch is off", () => {
    expect(decide({ enabled: false })).toMatchObject({
      allowed: false,
      code: "FEATURE_DISABLED",
      message: REFUSAL_MESSAGES.FEATURE_DISABLED,
    })
    expect(decide({ enabled: false, browser: asAdmin })).toMatchObject({ code: "FEATURE_DISABLED" })
  })

  it("names the token's state before the switch and the browser (what the ticket page shows)", () => {
    const foreignImpersonating = { signedIn: true as const, userId: admin + 1, impersonating: true }
    const used = { ...pending, status: "USED" as const }
    expect(decide({ token: used, enabled: false, browser: foreignImpersonating })).toMatchObject({ code: "USED" })
    const expired = { ...pending, expiresAt: now }
    expect(decide({ token: expired, enabled: false })).toMatchObject({ code: "EXPIRED" })
    expect(decide({ enabled: false, browser: foreignImpersonating })).toMatchObject({ code: "FEATURE_DISABLED" })
    expect(decide({ browser: foreignImpersonating })).toMatchObject({ code: "ALREADY_IMPERSONATING" })
  })
})

describe("actorTokenExpiresAt", () => {
  it("is the token's time to live after its creation", () => {
    const createdAt = new Date("2026-12-02T12:00:00.000Z")
    expect(actorTokenExpiresAt(createdAt, 300).toISOString()).toBe("2026-12-02T12:05:00.000Z")
  })
})

describe("mayRevokeActorToken", () => {
  it("lets the token's admin and an active SUPERADMIN revoke it, nobody else", () => {
    const creator = support()
    const token = { actorId: creator.id }
    expect(mayRevokeActorToken(creator, token)).toBe(true)
    // Demoted or not, revoking one's own link only takes power away.
    expect(mayRevokeActorToken({ ...creator, role: "USER" }, token)).toBe(true)
    expect(mayRevokeActorToken(superadmin(), token)).toBe(true)
    expect(mayRevokeActorToken(superadmin({ status: "DISABLED" }), token)).toBe(false)
    expect(mayRevokeActorToken(support(), token)).toBe(false)
    expect(mayRevokeActorToken(orgUser(ORG_1, "OWNER"), token)).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------------
// Rules 8 and 9: step-up, what an impersonated session may call, masking
// ---------------------------------------------------------------------------------------------

describe("step-up for read-write", () => {
  it("read-only needs no password; read-write needs a verified one", () => {
    expect(decideStepUp("READ_ONLY", "MISSING")).toEqual({ allowed: true })
    expect(decideStepUp("READ_WRITE", "VERIFIED")).toEqual({ allowed: true })
    const missing = decideStepUp("READ_WRITE", "MISSING")
    const wrong = decideStepUp("READ_WRITE", "WRONG")
    expect(missing).toMatchObject({ allowed: false, code: "STEP_UP_REQUIRED", message: REFUSAL_MESSAGES.STEP_UP_REQUIRED })
    expect(wrong).toMatchObject({ allowed: false, code: "STEP_UP_REQUIRED", message: STEP_UP_WRONG_PASSWORD })
  })

  it("an impossible start is refused for what it is before any password is asked", () => {
    const decision = decideImpersonationStart(request(support(), null, { mode: "READ_WRITE", stepUp: "WRONG" }))
    expectRefused(decision, "TARGET_NOT_FOUND")
  })

  it("read-write with a verified password is allowed", () => {
    expect(decideImpersonationStart(request(support(), user(), { mode: "READ_WRITE", stepUp: "VERIFIED" })).allowed).toBe(true)
  })
})

describe("decideImpersonatedCall", () => {
  const rails = { refusedActions: ["changePassword", "impersonateUser"], alwaysAllowed: ["stopImpersonating", "revealSensitiveField"] }
  const call = (resolver: string, kind: "query" | "mutation", mode: "READ_ONLY" | "READ_WRITE") =>
    decideImpersonatedCall({ resolver, kind, mode, rails })

  it.each([
    ["renameProject", "mutation", "READ_ONLY", "IMPERSONATION_READ_ONLY"],
    ["aResolverAddedLater", "mutation", "READ_ONLY", "IMPERSONATION_READ_ONLY"],
    ["changePassword", "mutation", "READ_ONLY", "IMPERSONATION_REFUSED_ACTION"],
    ["changePassword", "mutation", "READ_WRITE", "IMPERSONATION_REFUSED_ACTION"],
    ["impersonateUser", "mutation", "READ_WRITE", "IMPERSONATION_REFUSED_ACTION"],
  ] as const)("%s (%s) in %s is refused with %s", (resolver, kind, mode, code) => {
    expect(call(resolver, kind, mode)).toEqual({ allowed: false, code, message: CALL_REFUSAL_MESSAGES[code] })
  })

  it("read-write lets any other mutation run, gated (audited)", () => {
    expect(call("renameProject", "mutation", "READ_WRITE")).toEqual({ allowed: true, gated: true })
  })

  it("queries and the always-allowed run ungated in either mode", () => {
    expect(call("getProjects", "query", "READ_ONLY")).toEqual({ allowed: true, gated: false })
    expect(call("stopImpersonating", "mutation", "READ_ONLY")).toEqual({ allowed: true, gated: false })
    expect(call("revealSensitiveField", "mutation", "READ_ONLY")).toEqual({ allowed: true, gated: false })
  })

  it("the read-only message is the one the issue names", () => {
    expect(CALL_REFUSAL_MESSAGES.IMPERSONATION_READ_ONLY).toBe("Read-only impersonation: this action is not allowed")
  })
})

describe("maskValue", () => {
  it("keeps the last four characters of a long value, nothing of a short one", () => {
    expect(maskValue("+1 555 0100 1234")).toBe("•••• 1234")
    expect(maskValue("a1b2")).toBe("••••")
    expect(maskValue(null)).toBeNull()
  })
})

// ---------------------------------------------------------------------------------------------
// Issue 8: consent (ALLOWED, ASK, NEVER) x actor kind x organization floor, approvals, review
// ---------------------------------------------------------------------------------------------

describe("consent matrix: every setting x every actor kind x every organization floor", () => {
  type Floors = { name: string; floors: Array<Consent | undefined> }
  // `undefined`: a membership row with no floor recorded (counts as "Members decide").
  const FLOORS: Floors[] = [
    { name: "no floor", floors: [undefined] },
    { name: "floor ALLOWED", floors: ["ALLOWED"] },
    { name: "floor ASK", floors: ["ASK"] },
    { name: "floor NEVER", floors: ["NEVER"] },
    { name: "two organizations, ALLOWED and ASK", floors: ["ALLOWED", "ASK"] },
    { name: "two organizations, ASK and ALLOWED", floors: ["ASK", "ALLOWED"] },
    { name: "two organizations, ASK and NEVER", floors: ["ASK", "NEVER"] },
    { name: "two organizations, NEVER and ALLOWED", floors: ["NEVER", "ALLOWED"] },
  ]
  const ORGS = [ORG_1, ORG_2]

  type Expected = "allowed" | "APPROVAL_REQUIRED" | "TARGET_OPTED_OUT" | "ORGANIZATION_FORBIDS"
  // Written out by hand (not computed with the policy's own helpers): rows are the user's own
  // setting, columns the floors above, in order.
  const EXPECTED: Record<Consent, Expected[]> = {
    ALLOWED: ["allowed", "allowed", "APPROVAL_REQUIRED", "ORGANIZATION_FORBIDS", "APPROVAL_REQUIRED", "APPROVAL_REQUIRED", "ORGANIZATION_FORBIDS", "ORGANIZATION_FORBIDS"],
    ASK: ["APPROVAL_REQUIRED", "APPROVAL_REQUIRED", "APPROVAL_REQUIRED", "ORGANIZATION_FORBIDS", "APPROVAL_REQUIRED", "APPROVAL_REQUIRED", "ORGANIZATION_FORBIDS", "ORGANIZATION_FORBIDS"],
    // The user's own "Never" is theirs, whatever the floors say.
    NEVER: Array<Expected>(FLOORS.length).fill("TARGET_OPTED_OUT"),
  }

  type ActorKind = { name: string; actor: (orgCount: number) => PolicyUser; grant: Grant }
  const ACTORS: ActorKind[] = [
    { name: "SUPERADMIN", actor: () => superadmin(), grant: { kind: "PLATFORM", role: "SUPERADMIN" } },
    { name: "SUPPORT", actor: () => support(), grant: { kind: "PLATFORM", role: "SUPPORT" } },
    // Organization admins must outrank the member in every organization the member is in.
    {
      name: "organization OWNER",
      actor: (n) => user({ memberships: ORGS.slice(0, n).map((id) => member(id, "OWNER")) }),
      grant: { kind: "ORGANIZATION", organizationId: ORG_1, role: "OWNER" },
    },
    {
      name: "organization ADMIN",
      actor: (n) => user({ memberships: ORGS.slice(0, n).map((id) => member(id, "ADMIN")) }),
      grant: { kind: "ORGANIZATION", organizationId: ORG_1, role: "ADMIN" },
    },
  ]

  const target = (consent: Consent, floors: Floors["floors"]) =>
    user({
      impersonationConsent: consent,
      memberships: floors.map((floor, i) => ({
        organizationId: ORGS[i]!,
        role: "MEMBER" as const,
        ...(floor === undefined ? {} : { consentFloor: floor }),
      })),
    })

  const liveApproval = (mode: ImpersonationMode = "READ_ONLY") =>
    approvalOf({ id: 77, status: "APPROVED", approvedMode: mode, decidedAt: T0, expiresAt: new Date(T0.getTime() + 2 * 3_600_000) })

  const cases = ACTORS.flatMap((actorKind) =>
    (["ALLOWED", "ASK", "NEVER"] as const).flatMap((consent) =>
      FLOORS.map((floors, column) => ({ actorKind, consent, floors, expected: EXPECTED[consent][column]! })),
    ),
  )

  it("covers 4 actor kinds x 3 settings x 8 floor arrangements", () => {
    expect(cases).toHaveLength(4 * 3 * 8)
    expect(new Set(cases.map((c) => c.expected))).toEqual(new Set(["allowed", "APPROVAL_REQUIRED", "TARGET_OPTED_OUT", "ORGANIZATION_FORBIDS"]))
  })

  it.each(cases.map((c) => [c.actorKind.name, c.consent, c.floors.name, c.expected, c] as const))(
    "%s -> user %s, %s: %s",
    (_actor, consent, _floors, expected, { actorKind, floors }) => {
      const actor = actorKind.actor(floors.floors.length)
      const subject = target(consent, floors.floors)
      const decision = decideImpersonationStart(request(actor, subject, { approval: null, now: T0 }))
      if (expected === "allowed") expectAllowed(decision, actorKind.grant)
      else expectRefused(decision, expected)
      if (expected === "APPROVAL_REQUIRED") expect(decision).toMatchObject({ accessRequestId: null })

      // With the user's live approval, "ask" cells are allowed under it; "never" cells stay refused.
      const approved = decideImpersonationStart(request(actor, subject, { approval: liveApproval(), now: new Date(T0.getTime() + 60_000) }))
      if (expected === "APPROVAL_REQUIRED") {
        expect(approved).toEqual({
          allowed: true,
          grant: actorKind.grant,
          approval: { accessRequestId: 77, until: new Date(T0.getTime() + 2 * 3_600_000), mode: "READ_ONLY" },
        })
      } else if (expected === "allowed") {
        // No approval needed: none is attached (nor does one cap the time).
        expectAllowed(approved, actorKind.grant)
      } else {
        expectRefused(approved, expected)
      }

      // The directory's eligibility (decideTarget) refuses only "never": "ask" is offered, as a request.
      const eligibility = decideTarget(actor, subject)
      if (expected === "TARGET_OPTED_OUT" || expected === "ORGANIZATION_FORBIDS") expectRefused(eligibility, expected)
      else expectAllowed(eligibility, actorKind.grant)
    },
  )

  it("effectiveConsent names the organization whose floor decides", () => {
    expect(effectiveConsent(target("ALLOWED", ["ASK", "NEVER"]))).toEqual({ consent: "NEVER", source: "ORGANIZATION", organizationId: ORG_2 })
    expect(effectiveConsent(target("ALLOWED", ["NEVER", "ASK"]))).toEqual({ consent: "NEVER", source: "ORGANIZATION", organizationId: ORG_1 })
    expect(effectiveConsent(target("ALLOWED", ["ALLOWED", "ASK"]))).toEqual({ consent: "ASK", source: "ORGANIZATION", organizationId: ORG_2 })
    // A floor only as strict as the user's own setting leaves it the user's.
    expect(effectiveConsent(target("ASK", ["ASK"]))).toEqual({ consent: "ASK", source: "USER", organizationId: null })
    expect(effectiveConsent(target("NEVER", ["NEVER"]))).toEqual({ consent: "NEVER", source: "USER", organizationId: null })
    expect(effectiveConsent(target("ALLOWED", [undefined]))).toEqual({ consent: "ALLOWED", source: "USER", organizationId: null })
    expect(effectiveConsent(target("ASK", []))).toEqual({ consent: "ASK", source: "USER", organizationId: null })
  })

  it("stricterConsent orders ALLOWED < ASK < NEVER", () => {
    const all: Consent[] = ["ALLOWED", "ASK", "NEVER"]
    const rank = (c: Consent) => all.indexOf(c)
    for (const a of all) for (const b of all) expect(stricterConsent(a, b)).toBe(rank(a) >= rank(b) ? a : b)
  })

  it("maySetConsentFloor: the organization's active OWNERs only", () => {
    expect(maySetConsentFloor(orgUser(ORG_1, "OWNER"), ORG_1)).toBe(true)
    expect(maySetConsentFloor(orgUser(ORG_1, "ADMIN"), ORG_1)).toBe(false)
    expect(maySetConsentFloor(orgUser(ORG_1, "MEMBER"), ORG_1)).toBe(false)
    expect(maySetConsentFloor(orgUser(ORG_2, "OWNER"), ORG_1)).toBe(false)
    expect(maySetConsentFloor(orgUser(ORG_1, "OWNER", { status: "DISABLED" }), ORG_1)).toBe(false)
    expect(maySetConsentFloor(superadmin(), ORG_1)).toBe(false)
    expect(maySetConsentFloor(support(), ORG_1)).toBe(false)
  })
})

describe("decideApproval over the states of the latest access request", () => {
  const HOUR = 3_600_000
  const at = (ms: number) => new Date(T0.getTime() + ms)
  const decide = (approval: AccessApproval | null, now: Date, mode: ImpersonationMode = "READ_ONLY") =>
    decideApproval({ approval, mode, now })
  const required = (accessRequestId: number | null) => ({
    allowed: false,
    code: "APPROVAL_REQUIRED",
    message: REFUSAL_MESSAGES.APPROVAL_REQUIRED,
    accessRequestId,
  })
  const approved = (o: Partial<AccessApproval> = {}) =>
    approvalOf({ id: 9, status: "APPROVED", approvedMode: "READ_ONLY", decidedAt: T0, expiresAt: at(2 * HOUR), ...o })

  it("none: approval required, no request waiting", () => {
    expect(decide(null, T0)).toEqual(required(null))
  })

  it("pending: approval required, pointing at the request waiting", () => {
    expect(decide(approvalOf({ id: 5 }), at(HOUR))).toEqual(required(5))
    expect(decide(approvalOf({ id: 5 }), at(24 * HOUR - 1))).toEqual(required(5))
  })

  it("pending past its 24 hours: expired, approval required afresh (no request waiting)", () => {
    expect(decide(approvalOf({ id: 5 }), at(24 * HOUR))).toEqual(required(null))
    expect(decide(approvalOf({ id: 5 }), at(48 * HOUR))).toEqual(required(null))
  })

  it("approved: allowed until the approval's end, in the mode approved", () => {
    expect(decide(approved(), at(HOUR))).toEqual({ allowed: true, approval: { accessRequestId: 9, until: at(2 * HOUR), mode: "READ_ONLY" } })
    expect(decide(approved({ approvedMode: "READ_WRITE" }), at(HOUR), "READ_WRITE")).toEqual({
      allowed: true,
      approval: { accessRequestId: 9, until: at(2 * HOUR), mode: "READ_WRITE" },
    })
    // Asking for less than approved is fine.
    expect(decide(approved({ approvedMode: "READ_WRITE" }), at(HOUR), "READ_ONLY")).toMatchObject({ allowed: true })
  })

  it("approved but past its end: expired, approval required afresh", () => {
    expect(decide(approved(), at(2 * HOUR))).toEqual(required(null))
    expect(decide(approved(), at(30 * HOUR))).toEqual(required(null))
    expect(decide(approved({ expiresAt: null }), at(HOUR))).toEqual(required(null))
  })

  it("approved read-only, asked read-write: MODE_NOT_APPROVED", () => {
    expect(decide(approved(), at(HOUR), "READ_WRITE")).toEqual({
      allowed: false,
      code: "MODE_NOT_APPROVED",
      message: REFUSAL_MESSAGES.MODE_NOT_APPROVED,
    })
    // No mode recorded counts as read-only.
    expect(decide(approved({ approvedMode: null }), at(HOUR), "READ_WRITE")).toMatchObject({ code: "MODE_NOT_APPROVED" })
  })

  it("denied: ACCESS_DENIED for the cooldown after the answer, then approval required afresh", () => {
    const denied = approvalOf({ status: "DENIED", decidedAt: at(HOUR) })
    const retryAfter = at(HOUR + ACCESS_REFUSAL_COOLDOWN_MS)
    expect(decide(denied, at(HOUR))).toEqual({ allowed: false, code: "ACCESS_DENIED", message: REFUSAL_MESSAGES.ACCESS_DENIED, retryAfter })
    expect(decide(denied, new Date(retryAfter.getTime() - 1))).toMatchObject({ code: "ACCESS_DENIED", retryAfter })
    expect(decide(denied, retryAfter)).toEqual(required(null))
    expect(decide(denied, at(72 * HOUR))).toEqual(required(null))
  })

  it("revoked: ACCESS_REVOKED for the cooldown after the revocation, then approval required afresh", () => {
    const revoked = approved({ status: "REVOKED", revokedAt: at(HOUR) })
    const retryAfter = at(HOUR + ACCESS_REFUSAL_COOLDOWN_MS)
    expect(decide(revoked, at(HOUR + 1))).toEqual({ allowed: false, code: "ACCESS_REVOKED", message: REFUSAL_MESSAGES.ACCESS_REVOKED, retryAfter })
    // Still revoked after the approval itself would have ended.
    expect(decide(revoked, at(3 * HOUR))).toMatchObject({ code: "ACCESS_REVOKED" })
    expect(decide(revoked, retryAfter)).toEqual(required(null))
  })

  it("accessRequestStatus tells people the same", () => {
    expect(accessRequestStatus(approvalOf({}), T0)).toBe("pending")
    expect(accessRequestStatus(approvalOf({}), at(24 * HOUR))).toBe("expired")
    expect(accessRequestStatus(approved(), at(HOUR))).toBe("approved")
    expect(accessRequestStatus(approved(), at(2 * HOUR))).toBe("expired")
    expect(accessRequestStatus(approvalOf({ status: "DENIED", decidedAt: T0 }), at(HOUR))).toBe("denied")
    expect(accessRequestStatus(approved({ status: "REVOKED", revokedAt: T0 }), at(HOUR))).toBe("revoked")
  })
})

describe("reviewImpersonation: consent, floor and approval changes under a running impersonation", () => {
  const startedAt = T0
  const expiresAt = new Date(T0.getTime() + 20 * 60_000)
  const now = new Date(T0.getTime() + 5 * 60_000)
  const impersonation: ActiveImpersonation = { expiresAt, endedAt: null, endReason: null }
  const liveApproval = { status: "APPROVED" as const, expiresAt: new Date(T0.getTime() + 3_600_000) }
  const expiredApproval = { status: "APPROVED" as const, expiresAt: new Date(T0.getTime() + 60_000) }
  const revokedApproval = { status: "REVOKED" as const, expiresAt: new Date(T0.getTime() + 3_600_000) }

  const review = (
    subject: PolicyUser,
    approval: { status: AccessApproval["status"]; expiresAt: Date | null } | null,
    o: { actor?: PolicyUser; at?: Date } = {},
  ) =>
    reviewImpersonation({ impersonation, actor: o.actor ?? support(), subject, now: o.at ?? now, enabled: true, approval })
  const ended = (endReason: EndReason, at = now) => ({ active: false, endReason, alreadyEnded: false, endedAt: at })
  const withFloor = (consent: Consent, floor: Consent) =>
    user({ impersonationConsent: consent, memberships: [{ organizationId: ORG_1, role: "MEMBER", consentFloor: floor }] })

  it("consent turned to ASK: ends without a live approval (TARGET_REVOKED), goes on under one", () => {
    expect(review(user({ impersonationConsent: "ASK" }), null)).toEqual(ended("TARGET_REVOKED"))
    expect(review(user({ impersonationConsent: "ASK" }), liveApproval)).toEqual({ active: true })
    expect(startedAt.getTime()).toBeLessThan(now.getTime())
  })

  it("consent turned to NEVER: ends, even under a live approval (TARGET_REVOKED)", () => {
    expect(review(user({ impersonationConsent: "NEVER" }), null)).toEqual(ended("TARGET_REVOKED"))
    expect(review(user({ impersonationConsent: "NEVER" }), liveApproval)).toEqual(ended("TARGET_REVOKED"))
  })

  it("the floor raised: ASK ends it without a live approval, NEVER ends it always (TARGET_REVOKED)", () => {
    expect(review(withFloor("ALLOWED", "ASK"), null)).toEqual(ended("TARGET_REVOKED"))
    expect(review(withFloor("ALLOWED", "ASK"), liveApproval)).toEqual({ active: true })
    expect(review(withFloor("ALLOWED", "NEVER"), null)).toEqual(ended("TARGET_REVOKED"))
    expect(review(withFloor("ASK", "NEVER"), liveApproval)).toEqual(ended("TARGET_REVOKED"))
    // For the organization's own admins as for support.
    expect(review(withFloor("ALLOWED", "NEVER"), null, { actor: orgUser(ORG_1, "ADMIN") })).toEqual(ended("TARGET_REVOKED"))
    expect(review(withFloor("ALLOWED", "ALLOWED"), null, { actor: orgUser(ORG_1, "OWNER") })).toEqual({ active: true })
  })

  it("the approval revoked: the user's End (ENDED_BY_USER), unless the consent is now Never (TARGET_REVOKED, which revokes it too)", () => {
    for (const consent of ["ALLOWED", "ASK"] as const) {
      expect(review(user({ impersonationConsent: consent }), revokedApproval)).toEqual(ended("ENDED_BY_USER"))
    }
    expect(review(user({ impersonationConsent: "NEVER" }), revokedApproval)).toEqual(ended("TARGET_REVOKED"))
    expect(review(withFloor("ALLOWED", "NEVER"), revokedApproval)).toEqual(ended("TARGET_REVOKED"))
  })

  it("the approval expired: ends under ASK (TARGET_REVOKED); no longer needed once consent is ALLOWED", () => {
    expect(review(user({ impersonationConsent: "ASK" }), expiredApproval)).toEqual(ended("TARGET_REVOKED"))
    expect(review(withFloor("ALLOWED", "ASK"), expiredApproval)).toEqual(ended("TARGET_REVOKED"))
    expect(review(user({ impersonationConsent: "ALLOWED" }), expiredApproval)).toEqual({ active: true })
  })

  it("the time limit and the admin's rights come first", () => {
    expect(review(user({ impersonationConsent: "NEVER" }), revokedApproval, { at: expiresAt })).toEqual(ended("EXPIRED", expiresAt))
    expect(review(user({ impersonationConsent: "ASK" }), revokedApproval, { actor: user() })).toEqual(ended("ACTOR_REVOKED"))
  })
})

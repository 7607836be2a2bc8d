import { describe, expect, it } from "vitest"
import type { OrgRole } from "app/impersonation/policy"
import { ROLE_CHANGE_MESSAGES, decideRoleChange, roleChoices } from "./roles"

const actor = (role: OrgRole | null, userId = 1) => ({ userId, role })
const member = (role: OrgRole, userId = 2) => ({ userId, role })

describe("decideRoleChange", () => {
  it.each([
    ["OWNER", "MEMBER", "ADMIN"],
    ["OWNER", "ADMIN", "OWNER"],
    ["OWNER", "OWNER", "MEMBER"],
    ["ADMIN", "MEMBER", "ADMIN"],
    ["ADMIN", "ADMIN", "MEMBER"],
  ] as const)("lets an %s change a %s to %s", (actorRole, targetRole, newRole) => {
    expect(decideRoleChange({ actor: actor(actorRole), target: member(targetRole), newRole, ownerCount: 2 })).toEqual({ allowed: true })
  })

  it.each([
    [null, "MEMBER", "ADMIN", "NOT_ORG_ADMIN"],
    ["MEMBER", "MEMBER", "ADMIN", "NOT_ORG_ADMIN"],
    ["ADMIN", "MEMBER", "OWNER", "OWNER_ONLY"],
    ["ADMIN", "OWNER", "MEMBER", "OWNER_ONLY"],
    ["ADMIN", "OWNER", "ADMIN", "OWNER_ONLY"],
  ] as const)("refuses a %s changing a %s to %s: %s", (actorRole, targetRole, newRole, code) => {
    expect(decideRoleChange({ actor: actor(actorRole), target: member(targetRole), newRole, ownerCount: 2 })).toEqual({
      allowed: false,
      code,
      message: ROLE_CHANGE_MESSAGES[code],
    })
  })

  it("refuses anyone changing their own role, owners included", () => {
    for (const role of ["OWNER", "ADMIN"] as const) {
      const decision = decideRoleChange({ actor: actor(role, 7), target: member(role, 7), newRole: "MEMBER", ownerCount: 2 })
      expect(decision).toMatchObject({ allowed: false, code: "SELF" })
    }
  })

  it("keeps at least one owner", () => {
    const last = { actor: actor("OWNER"), target: member("OWNER"), ownerCount: 1 }
    expect(decideRoleChange({ ...last, newRole: "ADMIN" })).toMatchObject({ allowed: false, code: "LAST_OWNER" })
    expect(decideRoleChange({ ...last, newRole: "OWNER" })).toEqual({ allowed: true })
    expect(decideRoleChange({ ...last, ownerCount: 2, newRole: "MEMBER" })).toEqual({ allowed: true })
  })
})

describe("roleChoices", () => {
  it("offers an owner every role for anyone else, an admin ADMIN/MEMBER for non-owners, nobody their own row", () => {
    expect(roleChoices(actor("OWNER"), member("OWNER"))).toEqual(["OWNER", "ADMIN", "MEMBER"])
    expect(roleChoices(actor("ADMIN"), member("MEMBER"))).toEqual(["ADMIN", "MEMBER"])
    expect(roleChoices(actor("ADMIN"), member("OWNER"))).toEqual([])
    expect(roleChoices(actor("MEMBER"), member("MEMBER"))).toEqual([])
    expect(roleChoices(actor(null), member("MEMBER"))).toEqual([])
    expect(roleChoices(actor("OWNER", 3), member("OWNER", 3))).toEqual([])
  })

  it("never offers a choice the server would refuse", () => {
    const roles = ["OWNER", "ADMIN", "MEMBER"] as const
    for (const viewerRole of [null, ...roles]) {
      for (const targetRole of roles) {
        for (const choice of roleChoices(actor(viewerRole), member(targetRole))) {
          // The viewer is another member, so an owner target leaves the viewer as a second owner.
          const ownerCount = (targetRole === "OWNER" ? 1 : 0) + (viewerRole === "OWNER" ? 1 : 0)
          expect(decideRoleChange({ actor: actor(viewerRole), target: member(targetRole), newRole: choice, ownerCount })).toEqual({ allowed: true })
        }
      }
    }
  })
})

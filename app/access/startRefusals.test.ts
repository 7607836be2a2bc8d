import { describe, expect, it } from "vitest"
import { describeStartRefusal } from "./startRefusals"

describe("describeStartRefusal", () => {
  it("shows APPROVAL_REQUIRED as a state to wait in, with the server's words", () => {
    const error = { code: "APPROVAL_REQUIRED", message: "Waiting for the user's approval: Avery Ask has been asked", meta: { accessRequestId: 4 } }
    expect(describeStartRefusal(error)).toEqual({ kind: "waiting", message: error.message })
  })

  it("says a denial and a revocation in words, with when to ask again", () => {
    const retryAfter = "2026-12-07T12:00:00.000Z"
    expect(describeStartRefusal({ code: "ACCESS_DENIED", message: "x", meta: { retryAfter } })).toEqual({
      kind: "refused",
      message: "The user denied your access request. You can ask again after 2026-12-07 12:00 UTC.",
    })
    expect(describeStartRefusal({ code: "ACCESS_REVOKED", message: "x", meta: null })).toEqual({
      kind: "refused",
      message: "The user revoked your access.",
    })
    expect(describeStartRefusal({ code: "ACCESS_DENIED", meta: { retryAfter: "not a date" } })!.message).toBe(
      "The user denied your access request.",
    )
  })

  it("leaves other errors to the form", () => {
    expect(describeStartRefusal({ code: "QUOTA", message: "Quota" })).toBeNull()
    expect(describeStartRefusal(new Error("boom"))).toBeNull()
    expect(describeStartRefusal(null)).toBeNull()
    expect(describeStartRefusal("APPROVAL_REQUIRED")).toBeNull()
  })
})

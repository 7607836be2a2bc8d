import { describe, expect, it } from "vitest"
import { resolverKind } from "app/impersonation/callGate"
import "test/helpers/browser" // registers the resolvers as Blitz's loader does in the app

describe("the RPC route's gate knows every resolver", () => {
  it("finds resolvers where Blitz registers them, queries and mutations apart", () => {
    expect(resolverKind("getCurrentUser")).toBe("query")
    expect(resolverKind("logout")).toBe("mutation")
    expect(resolverKind("impersonateUser")).toBe("mutation")
    expect(resolverKind("noSuchResolver")).toBeNull()
  })
})

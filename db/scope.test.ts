import { describe, expect, it, vi } from "vitest"

describe("the database scope", () => {
  it("is one store per process: a second copy of the module (Next bundles instrumentation.ts apart) sees the scope the first set", async () => {
    const first = await import("./scope")
    vi.resetModules()
    const second = await import("./scope")
    expect(second).not.toBe(first) // two module copies, as in the server's two bundles
    const impersonation = { id: 7, actorId: 1, subjectId: 2, mode: "READ_WRITE" as const }
    const seen = first.runInDbScope({ impersonation, writesRefused: true }, () => second.currentDbScope())
    expect(seen).toMatchObject({ impersonation, writesRefused: true })
  })

  it("and so is the request's metadata (client address, user agent) the audit log reads", async () => {
    const first = await import("app/core/requestContext")
    vi.resetModules()
    const second = await import("app/core/requestContext")
    expect(second).not.toBe(first)
    const meta = { ...first.currentRequestMeta(), ip: "203.0.113.9", userAgent: "test agent" }
    expect(first.runWithRequestMeta(meta, () => second.currentRequestMeta())).toMatchObject({ ip: "203.0.113.9", userAgent: "test agent" })
  })
})

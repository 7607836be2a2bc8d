import { describe, expect, it } from "vitest"
import type { AuditChainState } from "app/audit/chainState"
import { chainStatusView } from "./chainStatusView"

const NOW = new Date("2026-12-02T10:00:00.000Z")
const walk = {
  at: "2026-12-01T03:00:00.000Z",
  ok: true,
  events: 987654,
  lastId: 987654,
  lastAt: "2026-12-01T02:59:00.000Z",
  problem: null,
  source: "console" as const,
}
const verified: AuditChainState = {
  verifiedUpTo: { id: 123456, at: "2026-12-02T09:59:00.000Z", events: 123456 },
  broken: null,
  lastFullWalk: walk,
  fullWalkDue: false,
  fullWalkRunning: false,
}
const broken: AuditChainState = {
  ...verified,
  verifiedUpTo: null,
  broken: "Event #4242 does not match its seal",
}

describe("chainStatusView", () => {
  it("gives platform staff event ids and counts", () => {
    const view = chainStatusView(verified, true, NOW)
    expect(view.status).toBe(
      "Verified up to event #123456 at 2026-12-02 09:59:00 UTC (123456 events).",
    )
    expect(view.walk).toMatch(/987654 events/)
    expect(chainStatusView(broken, true, NOW).status).toBe(
      "Audit chain BROKEN: Event #4242 does not match its seal",
    )
  })

  it("gives an organization admin the verdict and the time only, no platform ids or counts", () => {
    const ok = chainStatusView(verified, false, NOW)
    expect(ok).toEqual({
      broken: false,
      status: "Audit chain verified at 2026-12-02 10:00:00 UTC.",
      walk: "Whole-chain walk: last passed at 2026-12-01 03:00:00 UTC.",
    })
    const bad = chainStatusView(broken, false, NOW)
    expect(bad.broken).toBe(true)
    expect(bad.status).toBe(
      "Audit chain BROKEN (checked at 2026-12-02 10:00:00 UTC). Platform staff see the details.",
    )
    for (const text of [ok.status, ok.walk, bad.status, bad.walk])
      expect(text).not.toMatch(/#|123456|987654|4242|events/)
  })
})

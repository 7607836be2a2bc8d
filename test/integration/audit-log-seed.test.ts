import { describe, expect, it } from "vitest"
import db from "db"
import { DEMO_HISTORY_MARK, seedDemoAuditHistory } from "db/demoAuditHistory"
import { DEMO_USERS, seed } from "db/seeds"
import { verifyAuditChain } from "app/audit/chain"
import { impersonationsPerDay } from "app/audit/search"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import { decideTarget } from "app/impersonation/policy"

/**
 * The quickstart's demo audit history: a month of ended impersonations with their audit
 * events, once per database, on a chain that still verifies.
 */

const demoEvents = () =>
  db.$queryRaw<Array<{ id: number; at: Date; action: string; impersonationId: number | null }>>`
    SELECT "id", "at", "action"::text AS "action", "impersonationId" FROM "AuditEvent"
    WHERE ("details" ->> ${DEMO_HISTORY_MARK}) IS NOT NULL ORDER BY "id"`

describe("demo audit history", () => {
  it("seeds a month of ended impersonations once, in time order, and the chain verifies", async () => {
    await seed() // the demo accounts, then the history (or nothing, if another file seeded it)
    const events = await demoEvents()
    expect(events.length).toBeGreaterThanOrEqual(200)
    expect(events.length).toBeLessThan(1000)
    // Written in ascending time, so the log's id order is its time order.
    const times = events.map((event) => new Date(event.at).getTime())
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    expect(Math.max(...times)).toBeLessThan(Date.now())
    expect(Math.min(...times)).toBeGreaterThanOrEqual(Date.now() - 31 * 86_400_000)
    // Made-up history sends no receipts or webhooks.
    expect(await db.outboxMessage.count({ where: { auditEventId: { in: events.map((event) => event.id) } } })).toBe(0)

    // Every impersonation ended, started and ended once on record, between people the policy allows.
    const ids = [
      ...new Set(events.flatMap((event) => (event.impersonationId ? [event.impersonationId] : []))),
    ]
    const impersonations = await db.impersonation.findMany({
      where: { id: { in: ids } },
      include: { actor: userForPolicy, subject: userForPolicy },
    })
    expect(impersonations).toHaveLength(ids.length)
    expect(ids.length).toBeGreaterThanOrEqual(80)
    const demoEmails = new Set(DEMO_USERS.map((demo) => demo.email))
    for (const row of impersonations) {
      expect(row.endedAt && row.endReason).toBeTruthy()
      expect(row.endedAt!.getTime()).toBeGreaterThan(row.startedAt.getTime())
      expect(row.endedAt!.getTime()).toBeLessThanOrEqual(row.expiresAt.getTime())
      expect(demoEmails.has(row.actor.email) && demoEmails.has(row.subject.email)).toBe(true)
      const decision = decideTarget(toPolicyUser(row.actor), toPolicyUser(row.subject))
      expect(decision.allowed).toBe(true)
      const own = events
        .filter((event) => event.impersonationId === row.id)
        .map((event) => event.action)
      expect(own).toEqual(["IMPERSONATION_STARTED", "IMPERSONATION_ENDED"])
    }
    // Organization admins have history of their own (their organization's scope is not empty).
    expect(impersonations.some((row) => row.organizationId !== null)).toBe(true)
    // No admin had two impersonations live at once (rule 3).
    const byActor = new Map<number, typeof impersonations>()
    for (const row of impersonations)
      byActor.set(row.actorId, [...(byActor.get(row.actorId) ?? []), row])
    for (const rows of byActor.values()) {
      const sorted = rows.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())
      for (let i = 1; i < sorted.length; i++) {
        expect(sorted[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(
          sorted[i - 1]!.endedAt!.getTime(),
        )
      }
    }
    // The chart has something to show, with quiet days too.
    const perDay = await impersonationsPerDay({ wholePlatform: true })
    expect(perDay.filter((day) => day.count > 0).length).toBeGreaterThan(15)

    expect((await verifyAuditChain({ checkpointFile: null })).ok).toBe(true)

    // A second run finds the history and adds nothing.
    const before = {
      events: await db.auditEvent.count(),
      impersonations: await db.impersonation.count(),
    }
    expect(await seedDemoAuditHistory()).toEqual({ skipped: "already seeded" })
    await seed()
    expect({
      events: await db.auditEvent.count(),
      impersonations: await db.impersonation.count(),
    }).toEqual(before)
  })
})

import { describe, expect, it } from "vitest"
import type { Prisma } from "db"
import { AuditAction } from "app/audit/schemas"
import { afterAuditEvent, webhookBody } from "./events"
import { WEBHOOK_EVENT_TYPES } from "./webhooks"

/** A transaction that records every model it is asked for (and answers nothing). */
function watchedTransaction() {
  const touched: string[] = []
  const tx = new Proxy({}, {
    get(_target, property) {
      touched.push(String(property))
      throw new Error(`queried ${String(property)}`)
    },
  }) as Prisma.TransactionClient
  return { tx, touched }
}

const event = (action: string) => ({
  id: 41,
  at: new Date("2026-12-06T10:00:00.000Z"),
  action,
  actorId: 2,
  subjectId: 3,
  impersonationId: 5,
  organizationId: null,
  details: { reason: "Ticket 7" },
})

describe("afterAuditEvent", () => {
  it("costs no query for the actions that send nothing", async () => {
    const silent = AuditAction.options.filter((action) => !(action in WEBHOOK_EVENT_TYPES))
    expect(silent).toContain("SIGNED_IN")
    for (const action of silent) {
      const { tx, touched } = watchedTransaction()
      await afterAuditEvent(tx, event(action))
      expect(touched).toEqual([])
    }
  })

  it("names a webhook type for each of the seven reported actions", () => {
    expect(Object.values(WEBHOOK_EVENT_TYPES).sort()).toEqual([
      "access_request.approved",
      "access_request.created",
      "access_request.denied",
      "access_request.expired",
      "access_request.revoked",
      "impersonation.ended",
      "impersonation.started",
    ])
    for (const action of Object.keys(WEBHOOK_EVENT_TYPES)) expect(AuditAction.options).toContain(action)
  })

  it("builds the body receivers get: a stable id, the type, the time, the event's data", () => {
    expect(JSON.parse(webhookBody(event("ACCESS_APPROVED")))).toEqual({
      id: "evt_41",
      type: "access_request.approved",
      createdAt: "2026-12-06T10:00:00.000Z",
      data: {
        auditEventId: 41,
        action: "ACCESS_APPROVED",
        actorId: 2,
        subjectId: 3,
        impersonationId: 5,
        organizationId: null,
        details: { reason: "Ticket 7" },
      },
    })
  })
})

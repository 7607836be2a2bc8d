import { resolver } from "@blitzjs/rpc"
import { NotFoundError } from "blitz"
import db from "db"
import { auditEndpointChange, requireSuperadmin } from "../integrations"
import { RetryOutboxMessage } from "../schemas"

export class NotDeadError extends Error {
  name = "NotDeadError"
  statusCode = 409
  constructor() {
    super("Only a delivery that gave up (dead) can be retried")
  }
}

/**
 * "Retry" on a dead webhook delivery: back to PENDING, due now, with a fresh count of attempts.
 * Conditional on it still being DEAD, so two presses queue it once.
 */
export default resolver.pipe(resolver.zod(RetryOutboxMessage), resolver.authorize(), async ({ id }, ctx) => {
  const superadmin = await requireSuperadmin(ctx)
  return db.$transaction(async (tx) => {
    const message = await tx.outboxMessage.findFirst({ where: { id, kind: "WEBHOOK" }, select: { endpointId: true, subject: true } })
    if (!message) throw new NotFoundError("No webhook delivery with that ID")
    const { count } = await tx.outboxMessage.updateMany({
      where: { id, kind: "WEBHOOK", status: "DEAD" },
      data: { status: "PENDING", nextAttemptAt: new Date(), attempts: 0, lastError: null },
    })
    if (count === 0) throw new NotDeadError()
    await auditEndpointChange(tx, superadmin.id, { change: "DELIVERY_RETRIED", outboxMessageId: id, endpointId: message.endpointId, type: message.subject })
    return { id, status: "PENDING" as const }
  })
})

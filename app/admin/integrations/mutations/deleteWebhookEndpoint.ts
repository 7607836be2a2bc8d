import { resolver } from "@blitzjs/rpc"
import { NotFoundError } from "blitz"
import db from "db"
import { auditEndpointChange, requireSuperadmin } from "../integrations"
import { DeleteWebhookEndpoint } from "../schemas"

/**
 * Deletes an endpoint (softly: its past deliveries stay listed). Its messages not yet delivered
 * are not sent (the worker marks them DEAD: "The endpoint was deleted").
 */
export default resolver.pipe(resolver.zod(DeleteWebhookEndpoint), resolver.authorize(), async ({ id }, ctx) => {
  const superadmin = await requireSuperadmin(ctx)
  return db.$transaction(async (tx) => {
    const endpoint = await tx.webhookEndpoint.findFirst({ where: { id, deletedAt: null }, select: { url: true } })
    const { count } = await tx.webhookEndpoint.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date(), enabled: false } })
    if (!endpoint || count === 0) throw new NotFoundError("No webhook endpoint with that ID")
    await auditEndpointChange(tx, superadmin.id, { change: "DELETED", endpointId: id, url: endpoint.url })
    return { id, deleted: true }
  })
})

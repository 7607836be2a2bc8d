import { resolver } from "@blitzjs/rpc"
import { NotFoundError } from "blitz"
import db from "db"
import { auditEndpointChange, requireSuperadmin } from "../integrations"
import { SetWebhookEndpointEnabled } from "../schemas"

/** Enable or disable an endpoint: a disabled one is sent no new events (audited when it changes). */
export default resolver.pipe(resolver.zod(SetWebhookEndpointEnabled), resolver.authorize(), async ({ id, enabled }, ctx) => {
  const superadmin = await requireSuperadmin(ctx)
  return db.$transaction(async (tx) => {
    const endpoint = await tx.webhookEndpoint.findFirst({ where: { id, deletedAt: null }, select: { url: true } })
    if (!endpoint) throw new NotFoundError("No webhook endpoint with that ID")
    const { count } = await tx.webhookEndpoint.updateMany({ where: { id, deletedAt: null, enabled: !enabled }, data: { enabled } })
    if (count > 0) {
      await auditEndpointChange(tx, superadmin.id, { change: enabled ? "ENABLED" : "DISABLED", endpointId: id, url: endpoint.url })
    }
    return { id, enabled, changed: count > 0 }
  })
})

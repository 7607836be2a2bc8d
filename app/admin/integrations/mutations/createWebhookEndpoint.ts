import { resolver } from "@blitzjs/rpc"
import db from "db"
import { generateWebhookSecret } from "integrations/webhooks"
import { auditEndpointChange, requireSuperadmin } from "../integrations"
import { CreateWebhookEndpoint } from "../schemas"

/**
 * A new webhook endpoint. The secret is generated here and returned this once (the page shows it
 * once); it is stored because every delivery is signed with it, and never audited.
 */
export default resolver.pipe(resolver.zod(CreateWebhookEndpoint), resolver.authorize(), async ({ url, description }, ctx) => {
  const superadmin = await requireSuperadmin(ctx)
  const secret = generateWebhookSecret()
  const endpoint = await db.$transaction(async (tx) => {
    const row = await tx.webhookEndpoint.create({
      data: { url, description: description || null, secret, createdById: superadmin.id },
      select: { id: true, url: true, description: true, enabled: true, createdAt: true },
    })
    await auditEndpointChange(tx, superadmin.id, { change: "CREATED", endpointId: row.id, url: row.url, description: row.description })
    return row
  })
  return { ...endpoint, secret }
})

import "app/blitz-server" // installs Blitz's session configuration before getSession
import { getSession } from "@blitzjs/auth"
import type { Ctx } from "blitz"
import { adminConsoleAccess } from "app/admin/access"
import { auditCsvStream, type ExportOptions } from "app/audit/export"
import { EXPORT_BUSY_MESSAGE, acquireExportSlot } from "app/audit/exportSlots"
import { auditScopeFor, parseAuditQuery, resolveAuditFilter } from "app/audit/search"
import { log } from "app/core/log"
import { requestMetaFromHeaders, runWithRequestMeta } from "app/core/requestContext"
import getCurrentUser from "app/users/queries/getCurrentUser"

function refusal(status: 400 | 401 | 403 | 429, message: string) {
  return new Response(`${message}\n`, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
    },
  })
}

/**
 * GET /admin/audit/export?<the page's filters>: the filtered audit events as CSV, streamed.
 * The same access rules as the page: platform staff see everything, organization admins the
 * events of their organizations; nobody while impersonating.
 */
export async function exportAuditCsv(
  request: Request,
  options: ExportOptions = {},
): Promise<Response> {
  // The guard may end an impersonation while reading the session: its audit gets this request's IP.
  return runWithRequestMeta(requestMetaFromHeaders(request.headers), async () => {
    const session = await getSession(request)
    const user = await getCurrentUser(null, { session } as Ctx)
    if (!user) return refusal(401, "Sign in to download the audit log.")
    const access = await adminConsoleAccess(user)
    if (!access.allowed) return refusal(403, access.message)
    const parsed = parseAuditQuery(new URL(request.url).searchParams)
    if (!parsed.ok) return refusal(400, parsed.messages.join("\n"))
    const scope = auditScopeFor(access.admin)
    const resolved = await resolveAuditFilter(parsed.query, scope)
    if (!resolved.ok) return refusal(resolved.status, resolved.message)
    const release = acquireExportSlot(user.id)
    if (!release) {
      log.info({ auditExport: { by: user.id } }, "Audit CSV export refused: too many at once")
      return refusal(429, EXPORT_BUSY_MESSAGE)
    }
    log.info({ auditExport: { by: user.id, filter: resolved.filter } }, "Audit CSV export")
    const day = new Date().toISOString().slice(0, 10)
    const onFinish = () => {
      release()
      options.onFinish?.()
    }
    return new Response(auditCsvStream(resolved.filter, scope, { ...options, onFinish }), {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="audit-events-${day}.csv"`,
        "cache-control": "no-store",
      },
    })
  })
}

import { exportAuditCsv } from "../exportResponse"

export const dynamic = "force-dynamic"

/** The audit page's "Download CSV": see exportAuditCsv. */
export function GET(request: Request) {
  return exportAuditCsv(request)
}

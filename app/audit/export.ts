import { stringify } from "csv-stringify/sync"
import db, { engine as configuredEngine } from "db"
import type { Engine } from "db/engine"
import { log } from "app/core/log"
import { serverConfig } from "app/core/serverConfig"
import { auditEventsSql, type AuditFilter, type AuditRow, type AuditScope } from "./search"

/**
 * The CSV export of the audit log: every row matching the filters, read in batches from the
 * database and written to the response as it goes, so memory stays flat at any size.
 */

export const EXPORT_BATCH_SIZE = 1000

/** CSV header names, in column order, and how each cell is taken from a row. */
export const CSV_COLUMNS = [
  ["id", (row) => row.id],
  ["at", (row) => row.at],
  ["action", (row) => row.action],
  ["admin_id", (row) => row.actorId],
  ["admin_email", (row) => row.actorEmail],
  ["user_id", (row) => row.subjectId],
  ["user_email", (row) => row.subjectEmail],
  ["organization_id", (row) => row.organizationId],
  ["organization", (row) => row.organizationName],
  ["impersonation_id", (row) => row.impersonationId],
  ["reason", (row) => row.reason],
  ["ticket_url", (row) => row.ticketUrl],
  ["end_reason", (row) => row.endReason],
  ["ended_by_id", (row) => row.endedById],
  ["ended_by_email", (row) => row.endedByEmail],
  ["refusal_code", (row) => row.refusalCode],
  ["ip", (row) => row.ip],
  ["user_agent", (row) => row.userAgent],
] as const satisfies ReadonlyArray<readonly [string, (row: AuditRow) => string | number | null]>

export function csvRecords(rows: AuditRow[], withHeader: boolean): string {
  return stringify(
    rows.map((row) => CSV_COLUMNS.map(([, cell]) => cell(row))),
    {
      header: withHeader,
      columns: CSV_COLUMNS.map(([name]) => name),
      // A spreadsheet runs a text cell starting with = + - @ (tab, CR, or their full-width forms)
      // as a formula: csv-stringify prefixes those with ' (OWASP "CSV injection"). Reasons are user text.
      escape_formulas: true,
    },
  )
}

export type ExportOptions = {
  batchSize?: number
  engine?: Engine
  /** Called as each batch comes back from the database (tests watch how far ahead it reads). */
  onBatch?: (rows: number) => void
  /** Called once when the stream has ended, failed, been cancelled or hit its time limit. */
  onFinish?: () => void
  /** How long one export may run in all (a slow reader included). */
  timeLimitMs?: number
}

/**
 * PostgreSQL: a server-side cursor (DECLARE ... FETCH) in one read-only transaction, on a
 * connection of its own so a slow download never holds one of the app's pooled connections.
 * The snapshot is exact, and the server keeps the result, not this process.
 */
async function* postgresCursorBatches(
  url: string,
  filter: AuditFilter,
  scope: AuditScope,
  batchSize: number,
  onBatch: (rows: number) => void,
): AsyncGenerator<AuditRow[]> {
  const { Client } = await import("pg")
  const client = new Client({ connectionString: url, application_name: "audit-csv-export" })
  await client.connect()
  try {
    const query = auditEventsSql(filter, scope)
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    // A download that stalls for minutes gives its connection back rather than holding it forever.
    await client.query("SET LOCAL idle_in_transaction_session_timeout = '120s'")
    await client.query(`DECLARE audit_export NO SCROLL CURSOR FOR ${query.text}`, query.values)
    for (;;) {
      const { rows } = await client.query<AuditRow>(`FETCH ${batchSize} FROM audit_export`)
      onBatch(rows.length)
      if (rows.length) yield rows
      if (rows.length < batchSize) break
    }
    await client.query("COMMIT")
  } finally {
    // Also reached when the download is cancelled: closing the connection ends the transaction.
    await client.end().catch(() => {})
  }
}

/**
 * Embedded PostgreSQL has ONE connection: a transaction held open for a download would stall
 * every other request. So each batch is a short keyset query (`id < last id`) through the app's
 * client. The log is append-only and ids are allocated in commit order (writers hold the chain
 * lock), so the rows older than the first batch's top never change: the same snapshot.
 */
async function* keysetBatches(
  filter: AuditFilter,
  scope: AuditScope,
  batchSize: number,
  onBatch: (rows: number) => void,
): AsyncGenerator<AuditRow[]> {
  let before: number | undefined
  for (;;) {
    const rows = await db.$queryRaw<AuditRow[]>(
      auditEventsSql(filter, scope, { before, limit: batchSize }),
    )
    onBatch(rows.length)
    if (rows.length) yield rows
    if (rows.length < batchSize) return
    before = rows.at(-1)!.id
  }
}

/** Every matching row, newest first, in batches; empty when the filter matches nothing. */
export async function* auditExportBatches(
  filter: AuditFilter,
  scope: AuditScope,
  {
    batchSize = EXPORT_BATCH_SIZE,
    engine = configuredEngine,
    onBatch = () => {},
  }: ExportOptions = {},
): AsyncGenerator<AuditRow[]> {
  if (filter.matchesNothing) return
  if (engine.kind === "postgres")
    yield* postgresCursorBatches(engine.url, filter, scope, batchSize, onBatch)
  else yield* keysetBatches(filter, scope, batchSize, onBatch)
}

/**
 * The CSV as a byte stream: a header, then one record per event. Pull-based: a batch is read
 * only when the client has taken the previous one, so a slow download holds one batch at most.
 * `onFinish` runs once when the stream ends, fails, is cancelled or hits its time limit.
 */
export function auditCsvStream(
  filter: AuditFilter,
  scope: AuditScope,
  options: ExportOptions = {},
): ReadableStream<Uint8Array> {
  const { onFinish = () => {}, timeLimitMs = serverConfig.audit.exportTimeLimitMs } = options
  const batches = auditExportBatches(filter, scope, options)
  const encoder = new TextEncoder()
  let headerSent = false
  let finished = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const finish = () => {
    if (finished) return
    finished = true
    clearTimeout(timer)
    onFinish()
    // Closes the export's connection; queued behind a FETCH in flight, if any.
    batches.return(undefined).catch((error: unknown) => {
      log.error({ err: error }, "Audit CSV export could not close its database cursor")
    })
  }
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        timer = setTimeout(() => {
          if (finished) return
          log.warn({ auditExport: { timeLimitMs } }, "Audit CSV export stopped at its time limit")
          // An error, not a close: the client must not take a cut-off file for the whole log.
          controller.error(new Error("The export took longer than its time limit"))
          finish()
        }, timeLimitMs)
      },
      async pull(controller) {
        try {
          const next = await batches.next()
          // Cancelled or timed out while the batch was being read: nobody to send it to.
          if (finished) return
          if (next.done) {
            if (!headerSent) controller.enqueue(encoder.encode(csvRecords([], true)))
            controller.close()
            finish()
            return
          }
          controller.enqueue(encoder.encode(csvRecords(next.value, !headerSent)))
          headerSent = true
        } catch (error) {
          if (finished) return
          log.error({ err: error }, "Audit CSV export failed")
          controller.error(error)
          finish()
        }
      },
      cancel() {
        // The client went away (closed the tab, stopped the download): expected, not a fault.
        if (!finished) log.info("Audit CSV export cancelled by the client")
        finish()
      },
    },
    { highWaterMark: 0 },
  )
}

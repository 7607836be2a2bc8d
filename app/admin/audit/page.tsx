import Link from "next/link"
import { after } from "next/server"
import db from "db"
import { requireAdminConsole } from "app/admin/access"
import { auditChainState, runFullWalk, type AuditChainState } from "app/audit/chainState"
import { AuditAction } from "app/audit/schemas"
import {
  auditScopeFor,
  impersonationsPerDay,
  parseAuditQuery,
  resolveAuditFilter,
  searchAuditEvents,
  type AuditRow,
  type AuditScope,
} from "app/audit/search"
import { log } from "app/core/log"
import { modeLabel } from "app/impersonation/modes"
import { ImpersonationsChart } from "./ImpersonationsChart"
import { chainStatusView, formatTime } from "./chainStatusView"

type SearchParams = Record<string, string | string[] | undefined>

const FILTER_FIELDS = ["admin", "user", "action", "organization", "from", "to"] as const

/** The filter part of the URL (no paging cursor), as the form and the links carry it. */
function filterParams(params: SearchParams): URLSearchParams {
  const kept = new URLSearchParams()
  for (const name of FILTER_FIELDS) {
    const value = params[name]
    if (typeof value === "string" && value.trim() !== "") kept.set(name, value)
  }
  return kept
}

function hrefWith(base: string, params: URLSearchParams, extra: Record<string, string> = {}) {
  const all = new URLSearchParams(params)
  for (const [key, value] of Object.entries(extra)) all.set(key, value)
  const query = all.toString()
  return query ? `${base}?${query}` : base
}

function isWebLink(value: string) {
  try {
    const url = new URL(value)
    return url.protocol === "https:" || url.protocol === "http:"
  } catch {
    return false
  }
}

async function organizationsInScope(scope: AuditScope) {
  return db.organization.findMany({
    where: scope.wholePlatform ? {} : { id: { in: scope.organizationIds } },
    orderBy: { name: "asc" },
    select: { id: true, name: true },
    take: 200,
  })
}

function Person({ email, id }: { email: string | null; id: number | null }) {
  if (id === null) return <span className="hint">—</span>
  return <span title={`User #${id}`}>{email ?? `#${id}`}</span>
}

function EventDetails({ event }: { event: AuditRow }) {
  return (
    <>
      {event.reason && <div className="audit-reason">{event.reason}</div>}
      {event.ticketUrl &&
        (isWebLink(event.ticketUrl) ? (
          <div>
            <a href={event.ticketUrl} rel="noopener noreferrer nofollow" target="_blank">
              Ticket link
            </a>
          </div>
        ) : (
          <div>Ticket: {event.ticketUrl}</div>
        ))}
      {event.endReason && <div>End reason: {event.endReason}</div>}
      {event.endedById !== null && (
        <div>
          Ended by <Person email={event.endedByEmail} id={event.endedById} />
        </div>
      )}
      {event.refusalCode && <div>Refused: {event.refusalCode}</div>}
      {modeLabel(event.mode) && <div>Mode: {modeLabel(event.mode)}</div>}
    </>
  )
}

function ChainStatus({ chain, wholePlatform }: { chain: AuditChainState; wholePlatform: boolean }) {
  const view = chainStatusView(chain, wholePlatform)
  return (
    <section aria-labelledby="audit-chain-heading" className="audit-chain">
      <h2 id="audit-chain-heading">Audit chain</h2>
      {view.broken ? (
        <p role="alert" className="audit-chain-broken" data-testid="audit-chain-status">
          <strong>{view.status}</strong>
        </p>
      ) : (
        <p data-testid="audit-chain-status">{view.status}</p>
      )}
      <p className="hint">
        {view.walk} Each view checks the events since the last checkpoint; the whole chain is walked
        daily and by <code>npm run audit:verify</code>.
      </p>
    </section>
  )
}

export default async function AuditLogPage({
  searchParams,
}: {
  searchParams: Promise<SearchParams>
}) {
  const { admin } = await requireAdminConsole()
  const scope = auditScopeFor(admin)
  const params = await searchParams
  const parsed = parseAuditQuery(params)
  const resolved = parsed.ok ? await resolveAuditFilter(parsed.query, scope) : null
  const problems = !parsed.ok ? parsed.messages : resolved && !resolved.ok ? [resolved.message] : []
  const [page, perDay, chain, organizations] = await Promise.all([
    parsed.ok && resolved?.ok
      ? searchAuditEvents(resolved.filter, scope, {
          before: parsed.query.before,
          after: parsed.query.after,
        })
      : null,
    impersonationsPerDay(scope),
    auditChainState(),
    organizationsInScope(scope),
  ])
  if (chain.fullWalkDue && !chain.fullWalkRunning) {
    // After the response: a walk over a million rows must not hold up the page.
    after(() =>
      runFullWalk().catch((error: unknown) => log.error({ err: error }, "Audit chain walk failed")),
    )
  }
  const filters = filterParams(params)
  const value = (name: (typeof FILTER_FIELDS)[number]) => {
    const raw = params[name]
    return typeof raw === "string" ? raw : ""
  }
  const paged = parsed.ok && (parsed.query.before !== undefined || parsed.query.after !== undefined)
  const total = perDay.reduce((sum, day) => sum + day.count, 0)
  return (
    <section className="audit-log">
      <h1>Audit log</h1>
      <p className="hint">
        {scope.wholePlatform
          ? "Every event on the platform."
          : "Events of the organizations you administer."}{" "}
        Times are UTC, newest first.
      </p>

      <ChainStatus chain={chain} wholePlatform={scope.wholePlatform} />

      <section aria-labelledby="audit-chart-heading">
        <h2 id="audit-chart-heading">Impersonations per day</h2>
        <ImpersonationsChart data={perDay} />
        <details>
          <summary>{total} impersonations in the last 30 days (UTC): daily counts</summary>
          <table className="audit-daily">
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Impersonations</th>
              </tr>
            </thead>
            <tbody>
              {perDay.map((day) => (
                <tr key={day.day}>
                  <td>{day.day}</td>
                  <td>{day.count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </section>

      <h2>Events</h2>
      <form
        method="get"
        action="/admin/audit"
        aria-label="Filter audit events"
        className="audit-filters"
      >
        <div className="field">
          <label htmlFor="audit-admin">Admin</label>
          <input
            id="audit-admin"
            name="admin"
            defaultValue={value("admin")}
            placeholder="email or user id"
          />
        </div>
        <div className="field">
          <label htmlFor="audit-user">User</label>
          <input
            id="audit-user"
            name="user"
            defaultValue={value("user")}
            placeholder="email or user id"
          />
        </div>
        <div className="field">
          <label htmlFor="audit-action">Action</label>
          <select id="audit-action" name="action" defaultValue={value("action")}>
            <option value="">Any action</option>
            {AuditAction.options.map((action) => (
              <option key={action} value={action}>
                {action}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-organization">Organization</label>
          <input
            id="audit-organization"
            name="organization"
            list="audit-organizations"
            defaultValue={value("organization")}
            placeholder="name or id"
          />
          <datalist id="audit-organizations">
            {organizations.map((organization) => (
              <option key={organization.id} value={organization.name} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="audit-from">From</label>
          <input id="audit-from" name="from" type="date" defaultValue={value("from")} />
        </div>
        <div className="field">
          <label htmlFor="audit-to">To</label>
          <input id="audit-to" name="to" type="date" defaultValue={value("to")} />
        </div>
        <div className="audit-filter-actions">
          <button type="submit">Filter</button>
          <Link href="/admin/audit">Clear filters</Link>
        </div>
      </form>

      {problems.length > 0 && (
        <div role="alert" className="form-error">
          {problems.map((problem) => (
            <p key={problem}>{problem}</p>
          ))}
        </div>
      )}

      {page && (
        <>
          <p>
            {/* A plain link: the route answers with an attachment (no client-side navigation). */}
            <a href={hrefWith("/admin/audit/export", filters)}>Download CSV</a>{" "}
            <span className="hint">every event matching the filters, all pages</span>
          </p>
          {page.events.length === 0 ? (
            <p>No events match these filters{paged ? " on this page" : ""}.</p>
          ) : (
            <div className="audit-table-wrap">
              <table className="audit-table">
                <caption>Audit events, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Time (UTC)</th>
                    <th scope="col">Action</th>
                    <th scope="col">Admin</th>
                    <th scope="col">User</th>
                    <th scope="col">Organization</th>
                    <th scope="col">Impersonation</th>
                    <th scope="col">Details</th>
                    <th scope="col">IP</th>
                  </tr>
                </thead>
                <tbody>
                  {page.events.map((event) => (
                    <tr key={event.id}>
                      <td>{event.id}</td>
                      <td>
                        <time dateTime={event.at}>{formatTime(event.at)}</time>
                      </td>
                      <td>{event.action}</td>
                      <td>
                        <Person email={event.actorEmail} id={event.actorId} />
                      </td>
                      <td>
                        <Person email={event.subjectEmail} id={event.subjectId} />
                      </td>
                      <td>
                        {event.organizationName ??
                          (event.organizationId ? `#${event.organizationId}` : "—")}
                      </td>
                      <td>{event.impersonationId ?? "—"}</td>
                      <td>
                        <EventDetails event={event} />
                      </td>
                      <td>{event.ip ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav aria-label="Audit log pages" className="audit-pager">
            {paged && <Link href={hrefWith("/admin/audit", filters)}>Newest</Link>}
            {page.newerThan !== null && (
              <Link href={hrefWith("/admin/audit", filters, { after: String(page.newerThan) })}>
                Newer
              </Link>
            )}
            {page.olderThan !== null && (
              <Link href={hrefWith("/admin/audit", filters, { before: String(page.olderThan) })}>
                Older
              </Link>
            )}
          </nav>
        </>
      )}
    </section>
  )
}

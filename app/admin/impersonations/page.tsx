import { requireAdminConsole } from "app/admin/access"
import { MODE_LABELS } from "app/impersonation/modes"
import { endsAnyImpersonation } from "app/impersonation/policy"
import { EndImpersonationButton } from "./EndImpersonationButton"
import { LIVE_IMPERSONATIONS_SHOWN, listLiveImpersonations } from "./liveImpersonations"
import { TimeLeft } from "./TimeLeft"

/** A fixed, zone-independent rendering, so server and browser print the same text. */
function formatStarted(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`
}

/** Ticket links were checked at the start; only http(s) is ever rendered as a link. */
function isHttpLink(url: string): boolean {
  return /^https?:\/\//i.test(url)
}

export default async function ActiveImpersonationsPage() {
  const { admin } = await requireAdminConsole()
  const rows = await listLiveImpersonations(admin)
  return (
    <section>
      <h1>Active impersonations</h1>
      <p className="hint">
        {endsAnyImpersonation(admin)
          ? "You can end any impersonation."
          : "You can end the impersonations you started."}{" "}
        An ended impersonation stops at the user&apos;s next request.
      </p>
      {rows.length === 0 ? (
        <p>No impersonations are in progress.</p>
      ) : (
        <div className="table-scroll">
          <table className="live-impersonations">
            <thead>
              <tr>
                <th scope="col">Admin</th>
                <th scope="col">User</th>
                <th scope="col">Organization</th>
                <th scope="col">Reason</th>
                <th scope="col">Ticket</th>
                <th scope="col">Started</th>
                <th scope="col">Time left</th>
                <th scope="col">Mode</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} data-impersonation-id={row.id}>
                  <td>
                    {row.admin.name}
                    <br />
                    <span className="hint">{row.admin.email}</span>
                  </td>
                  <td>
                    {row.user.name}
                    <br />
                    <span className="hint">{row.user.email}</span>
                  </td>
                  <td>{row.organization?.name ?? "—"}</td>
                  <td className="reason">{row.reason}</td>
                  <td>
                    {row.ticketUrl && isHttpLink(row.ticketUrl) ? (
                      <a href={row.ticketUrl} target="_blank" rel="noopener noreferrer" className="ticket-link">
                        {row.ticketUrl}
                      </a>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>
                    <time dateTime={row.startedAt.toISOString()}>{formatStarted(row.startedAt)}</time>
                  </td>
                  <td>
                    <TimeLeft expiresAt={row.expiresAt.toISOString()} />
                  </td>
                  <td>{MODE_LABELS[row.mode]}</td>
                  <td>
                    {row.mayEnd && (
                      <EndImpersonationButton
                        impersonationId={row.id}
                        label={`${row.admin.name}'s impersonation of ${row.user.name}`}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === LIVE_IMPERSONATIONS_SHOWN && (
            <p className="hint">Showing the {LIVE_IMPERSONATIONS_SHOWN} most recently started.</p>
          )}
        </div>
      )}
    </section>
  )
}

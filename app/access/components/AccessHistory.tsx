"use client"
import { usePaginatedQuery } from "@blitzjs/rpc"
import { useState } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import getAccessHistory from "../queries/getAccessHistory"
import { END_REASON_WORDS, MODE_WORDS, formatDuration, formatUtc } from "../words"
import { TicketLink } from "./TicketLink"
import "./access.css"

type Cursor = { before?: number; after?: number }

/**
 * The Security page's "Access history": every impersonation of the user, newest first, a page
 * at a time ("Older" / "Newer"), with who, from which organization, when, how long, why, the
 * ticket, the mode, how many changes and reveals, how it ended and whether the user approved it.
 */
export function AccessHistory() {
  const [cursor, setCursor] = useState<Cursor>({})
  const [page, { error, isLoading }] = usePaginatedQuery(getAccessHistory, cursor, { refetchOnWindowFocus: true, retry: false })

  return (
    <section aria-labelledby="access-history-heading">
      <h2 id="access-history-heading">Access history</h2>
      <p className="hint">Every time someone from support or your organization signed in as you, newest first.</p>
      {error ? (
        // An admin acting as the user is told why there is nothing here; anything else is a problem.
        (error as { code?: string }).code === "IMPERSONATION_REFUSED_ACTION" ? (
          <p className="hint">{errorMessageForPerson(error)}</p>
        ) : (
          <p role="alert" className="form-error">
            {errorMessageForPerson(error)}
          </p>
        )
      ) : isLoading || !page ? (
        <p className="hint">Loading your access history…</p>
      ) : page.entries.length === 0 && !cursor.before && !cursor.after ? (
        <p>Nobody has accessed your account.</p>
      ) : (
        <>
          <div className="access-history-wrap">
            <table className="access-history">
              <caption className="visually-hidden">Access to your account</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Organization</th>
                  <th scope="col">How long</th>
                  <th scope="col">Why</th>
                  <th scope="col">Ticket</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Changes</th>
                  <th scope="col">Reveals</th>
                  <th scope="col">How it ended</th>
                  <th scope="col">Your approval</th>
                </tr>
              </thead>
              <tbody>
                {page.entries.map((entry) => (
                  <tr key={entry.id} data-testid="access-history-row">
                    <td>
                      <time dateTime={new Date(entry.startedAt).toISOString()}>{formatUtc(entry.startedAt)}</time>
                    </td>
                    <td>
                      {entry.admin.name}
                      <br />
                      <span className="hint">{entry.admin.email}</span>
                    </td>
                    <td>{entry.organization?.name ?? "Platform support"}</td>
                    <td>{entry.durationMs === null ? "ongoing" : formatDuration(entry.durationMs)}</td>
                    <td className="reason">{entry.reason}</td>
                    <td>{entry.ticketUrl ? <TicketLink url={entry.ticketUrl} className="ticket-link" /> : "None"}</td>
                    <td>{MODE_WORDS[entry.mode]}</td>
                    <td>{entry.changes}</td>
                    <td>{entry.reveals}</td>
                    <td>{entry.endReason ? END_REASON_WORDS[entry.endReason] : "Ongoing"}</td>
                    <td>
                      {entry.approval
                        ? entry.approval.revokedAt
                          ? `Approved by you, revoked ${formatUtc(entry.approval.revokedAt)}`
                          : entry.approval.until
                            ? `Approved by you, until ${formatUtc(entry.approval.until)}`
                            : "Approved by you"
                        : "Not needed"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav aria-label="Access history pages" className="access-paging">
            <button
              type="button"
              disabled={page.newerCursor === null}
              onClick={() => page.newerCursor !== null && setCursor({ after: page.newerCursor })}
            >
              Newer
            </button>
            <button
              type="button"
              disabled={page.olderCursor === null}
              onClick={() => page.olderCursor !== null && setCursor({ before: page.olderCursor })}
            >
              Older
            </button>
          </nav>
        </>
      )}
    </section>
  )
}

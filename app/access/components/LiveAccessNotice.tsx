"use client"
import { usePathname } from "next/navigation"
import { formatUtc } from "../words"
import { TicketLink } from "./TicketLink"
import { useLiveAccess } from "./useLiveAccess"
import "./access.css"

/** "Support (name) is in your account now, since ..., reason ...": one sentence per live access. */
export function LiveAccessSentence({ access }: { access: { admin: { name: string }; organization: { name: string } | null; startedAt: Date; reason: string; ticketUrl: string | null; mode: "READ_ONLY" | "READ_WRITE" } }) {
  return (
    <p>
      <strong>
        Support ({access.admin.name}) is in your account now
      </strong>
      , since <time dateTime={new Date(access.startedAt).toISOString()}>{formatUtc(access.startedAt)}</time>, reason{" "}
      {access.reason}.
      {access.organization && <> As an admin of {access.organization.name}.</>}{" "}
      {access.mode === "READ_WRITE" ? "They can make changes." : "Read-only: they cannot make changes."}
      {access.ticketUrl && (
        <>
          {" "}
          Ticket: <TicketLink url={access.ticketUrl} />
        </>
      )}
    </p>
  )
}

/**
 * Shown on every page of the user's own sessions (the root layout never renders it for an
 * admin acting as them, and the server answers such a session with nothing) while someone
 * impersonates them; polled, so it appears without a reload. The Security page shows the same
 * in its panel instead.
 */
export function LiveAccessNotice() {
  const pathname = usePathname()
  const { live, endAccess, ending, problem } = useLiveAccess()
  if (live.length === 0 || pathname === "/account/security") return null
  return (
    <section className="live-access-notice" aria-live="polite" aria-label="Support in your account">
      <ul className="live-access-list">
        {live.map((access) => (
          <li key={access.id}>
            <LiveAccessSentence access={access} />
            <button type="button" className="end-access-button" disabled={ending} onClick={() => void endAccess(access.id)}>
              End access
            </button>
          </li>
        ))}
      </ul>
      {problem && <p role="alert">{problem}</p>}
    </section>
  )
}

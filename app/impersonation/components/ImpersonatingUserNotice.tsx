"use client"
import { invoke, useMutation } from "@blitzjs/rpc"
import { useEffect } from "react"
import { formatAccessTime } from "app/access/requestFormat"
import { formatRemaining, useRemaining } from "app/core/components/countdown"
import getCurrentUser, { type CurrentUser } from "app/users/queries/getCurrentUser"
import { MODE_LABELS } from "../modes"
import stopImpersonating from "../mutations/stopImpersonating"

const TICKET_TEXT_MAX = 60

/** The ticket link; the server only stores http(s) URLs, and anything else stays plain text. */
function TicketLink({ url }: { url: string }) {
  const text = url.length > TICKET_TEXT_MAX ? `${url.slice(0, TICKET_TEXT_MAX - 1)}…` : url
  if (!/^https?:\/\//i.test(url)) return <>{text}</>
  return (
    <a href={url} target="_blank" rel="noopener noreferrer">
      {text}
    </a>
  )
}

/**
 * Shown on every page while impersonating; it cannot be dismissed. The server ends the
 * impersonation on its own at the time limit; this only counts down and then reloads.
 */
export function ImpersonatingUserNotice({ user }: { user: CurrentUser | null }) {
  const [stop, { isPending: stopping }] = useMutation(stopImpersonating, { throwOnError: false })
  const expiresAt = user?.impersonationExpiresAt ? new Date(user.impersonationExpiresAt).getTime() : null
  const remaining = useRemaining(expiresAt)

  useEffect(() => {
    if (expiresAt === null || remaining > 0) return
    // Any request now returns the session to the admin (the server enforces the limit).
    void invoke(getCurrentUser, null).finally(() => window.location.assign("/admin"))
  }, [expiresAt, remaining])

  if (!user?.impersonator) return null
  return (
    <div role="alert" className="impersonation-notice" aria-live="polite">
      <p>
        <strong>You are impersonating</strong> {user.name} ({user.email}).{" "}
        <span>Signed in by {user.impersonator.name}.</span>{" "}
        <span>
          <strong>{MODE_LABELS[user.mode ?? "READ_ONLY"]}</strong>.
        </span>{" "}
        <span>Reason: {user.reason}.</span>{" "}
        {user.approvedUntil && (
          <span>
            Approved by the user until{" "}
            <time dateTime={new Date(user.approvedUntil).toISOString()}>
              {formatAccessTime(user.approvedUntil)}
            </time>
            .{" "}
          </span>
        )}
        {user.ticketUrl && (
          <span>
            Ticket: <TicketLink url={user.ticketUrl} />{" "}
          </span>
        )}
        <span>
          Time left:{" "}
          <time suppressHydrationWarning data-testid="impersonation-countdown">
            {formatRemaining(remaining)}
          </time>
        </span>
      </p>
      <button
        type="button"
        disabled={stopping}
        onClick={async () => {
          await stop({}).catch(() => null)
          window.location.assign("/admin")
        }}
      >
        Stop impersonating
      </button>
    </div>
  )
}

export default ImpersonatingUserNotice

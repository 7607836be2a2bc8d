import type { Metadata } from "next"
import Link from "next/link"
import { serverConfig } from "app/core/serverConfig"
import { decideTokenStart, findActorTokenByTicket } from "app/impersonation/actorTokens"
import { decideActorTokenRedemption, type RedeemingBrowser } from "app/impersonation/policy"
import { loadCurrentUser } from "app/users/currentUser"
import { StartImpersonationButton } from "./StartImpersonationButton"

export const metadata: Metadata = {
  title: "Start impersonation",
  // The ticket is in this page's URL: never sent on as a referrer, never indexed.
  referrer: "no-referrer",
  robots: { index: false, follow: false },
}

type Search = { searchParams: Promise<{ ticket?: string | string[] }> }

function CannotUse({ message, hint }: { message: string; hint?: string }) {
  return (
    <section className="narrow">
      <h1>This link cannot be used</h1>
      <p role="alert" data-testid="ticket-refusal">
        {message}
      </p>
      {hint && <p className="hint">{hint}</p>}
      <p>
        <Link href="/">Back to home</Link>
      </p>
    </section>
  )
}

const timeFormat = new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone: "UTC" })

/**
 * `/impersonate?ticket=...`: who, why and the time limit of the impersonation an actor token
 * stands for, and "Start". Reading it changes nothing (a GET never redeems): the start is the
 * `redeemActorToken` mutation, which decides again and audits.
 */
export default async function ImpersonatePage({ searchParams }: Search) {
  const { ticket } = await searchParams
  const presented = typeof ticket === "string" ? ticket : ""
  const now = new Date()
  const [token, user] = await Promise.all([findActorTokenByTicket(presented), loadCurrentUser()])
  const browser: RedeemingBrowser = user
    ? { signedIn: true, userId: user.id, impersonating: user.impersonator !== null }
    : { signedIn: false }
  const decision = decideActorTokenRedemption({
    token,
    browser,
    now,
    enabled: serverConfig.impersonation.enabled,
  })
  if (!decision.allowed) {
    const hint =
      decision.code === "FOREIGN_ADMIN"
        ? `You are signed in as ${user?.email}. Open the link where no one is signed in, or log out first.`
        : decision.code === "ALREADY_IMPERSONATING"
          ? "Stop the current impersonation in this browser, then open the link again."
          : undefined
    return <CannotUse message={decision.message} hint={hint} />
  }
  const found = token!
  const start = await decideTokenStart(found, now)
  if (!start.allowed) return <CannotUse message={start.message} />
  const minutes = Math.round(serverConfig.impersonation.ttlSeconds / 60)
  return (
    <section className="narrow">
      <h1>Start impersonation</h1>
      <dl aria-label="Impersonation">
        <dt>User</dt>
        <dd data-testid="ticket-user">
          {found.subject.name} ({found.subject.email})
        </dd>
        <dt>Admin</dt>
        <dd data-testid="ticket-admin">
          {found.actor.name} ({found.actor.email})
        </dd>
        <dt>Reason</dt>
        <dd data-testid="ticket-reason">{found.reason}</dd>
        {found.ticketUrl && (
          <>
            <dt>Ticket</dt>
            <dd>
              <a href={found.ticketUrl} target="_blank" rel="noopener noreferrer">
                {found.ticketUrl}
              </a>
            </dd>
          </>
        )}
        <dt>Time limit</dt>
        <dd data-testid="ticket-limit">
          {minutes} minutes, {found.mode === "READ_WRITE" ? "read-write" : "read-only"}; it cannot be extended. All
          actions are logged.
        </dd>
        <dt>Link valid until</dt>
        <dd>
          <time dateTime={found.expiresAt.toISOString()}>{timeFormat.format(found.expiresAt)} UTC</time>, once
        </dd>
      </dl>
      <p className="hint">
        {decision.handBackToActor
          ? "When you stop, this browser returns to your own admin session."
          : "This browser is not signed in as the admin: when the impersonation ends, it is signed out."}
      </p>
      <StartImpersonationButton ticket={presented} />
    </section>
  )
}

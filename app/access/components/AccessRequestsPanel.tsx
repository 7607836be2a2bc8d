"use client"
import { useMutation, useQuery } from "@blitzjs/rpc"
import { useId, useState } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import { MODE_LABELS } from "app/impersonation/modes"
import type { ImpersonationMode } from "app/impersonation/policy"
import { HOUR_CHOICES, formatAccessTime } from "../requestFormat"
import decideAccessRequest from "../mutations/decideAccessRequest"
import revokeAccessGrant from "../mutations/revokeAccessGrant"
import getAccessRequests from "../queries/getAccessRequests"
import type { AccessRequestView } from "../requests"
import { describeHours } from "../requestRules"
import styles from "./accessRequests.module.css"

const ONLY_THE_USER = "Only the user can answer this, from their own session."

/** How often the Security page and the notice ask for new requests. */
export const ACCESS_REQUESTS_REFETCH_MS = 10_000

const STATUS_WORDS = {
  pending: "Waiting for your answer",
  approved: "Approved",
  denied: "Denied",
  revoked: "Revoked",
  expired: "Expired",
} as const

function TicketLink({ url }: { url: string | null }) {
  if (!url) return null
  return (
    <p>
      Ticket:{" "}
      {/^https?:\/\//i.test(url) ? (
        <a href={url} target="_blank" rel="noopener noreferrer">
          {url}
        </a>
      ) : (
        url
      )}
    </p>
  )
}

function Who({ request, what }: { request: AccessRequestView; what: string }) {
  return (
    <p>
      <strong>{request.admin.name}</strong> ({request.admin.email})
      {request.organization ? <> for {request.organization.name}</> : null} {what}
    </p>
  )
}

/** One waiting request: who, why, what was asked; the hours and mode to grant; Approve / Deny. */
function PendingRequest({
  request,
  onChanged,
  canAnswer,
}: {
  request: AccessRequestView
  onChanged: () => Promise<unknown>
  canAnswer: boolean
}) {
  const ids = useId()
  const [hours, setHours] = useState(request.hours)
  const [mode, setMode] = useState<ImpersonationMode>(request.mode)
  const [error, setError] = useState<string | null>(null)
  const [decide, { isPending }] = useMutation(decideAccessRequest, {
    throwOnError: false,
  })

  async function answer(decision: "APPROVE" | "DENY") {
    setError(null)
    try {
      await decide(
        decision === "APPROVE"
          ? { id: request.id, decision, hours, mode }
          : { id: request.id, decision }
      )
    } catch (failure) {
      setError(errorMessageForPerson(failure))
    }
    await onChanged()
  }

  return (
    <li className={styles.card} aria-labelledby={`${ids}-who`}>
      <div id={`${ids}-who`}>
        <Who request={request} what="asks to access your account." />
      </div>
      <p>Reason: {request.reason}</p>
      <TicketLink url={request.ticketUrl} />
      <p>
        Asked for: {describeHours(request.hours)}, {MODE_LABELS[request.mode].toLowerCase()}.
        Expires unanswered at {formatAccessTime(request.requestExpiresAt)}.
      </p>
      {!canAnswer ? (
        <p className="hint">{ONLY_THE_USER}</p>
      ) : (
        <>
          <div className={styles.choices}>
            <label htmlFor={`${ids}-hours`}>
              Allow for
              <select
                id={`${ids}-hours`}
                value={hours}
                disabled={isPending}
                onChange={(event) => setHours(Number(event.target.value))}
              >
                {HOUR_CHOICES.map((choice) => (
                  <option key={choice} value={choice}>
                    {describeHours(choice)}
                  </option>
                ))}
              </select>
            </label>
            <label htmlFor={`${ids}-mode`}>
              Access
              <select
                id={`${ids}-mode`}
                value={mode}
                disabled={isPending}
                onChange={(event) => setMode(event.target.value as ImpersonationMode)}
              >
                <option value="READ_ONLY">{MODE_LABELS.READ_ONLY} (look, no changes)</option>
                {request.mode === "READ_WRITE" && (
                  <option value="READ_WRITE">{MODE_LABELS.READ_WRITE} (may make changes)</option>
                )}
              </select>
            </label>
          </div>
          <div className={styles.actions}>
            <button
              type="button"
              className={styles.primary}
              disabled={isPending}
              onClick={() => void answer("APPROVE")}
            >
              Approve
            </button>
            <button type="button" disabled={isPending} onClick={() => void answer("DENY")}>
              Deny
            </button>
          </div>
        </>
      )}
      {error && (
        <p role="alert" className={styles.error}>
          {error}
        </p>
      )}
    </li>
  )
}

/** One approval in force: until when, and Revoke. */
function ApprovedAccess({
  request,
  onChanged,
  canAnswer,
}: {
  request: AccessRequestView
  onChanged: () => Promise<unknown>
  canAnswer: boolean
}) {
  const [error, setError] = useState<string | null>(null)
  const [revoke, { isPending }] = useMutation(revokeAccessGrant, {
    throwOnError: false,
  })
  return (
    <li className={styles.card}>
      <Who request={request} what="may access your account." />
      <p>Reason: {request.reason}</p>
      <TicketLink url={request.ticketUrl} />
      <p>
        Approved: {MODE_LABELS[request.approvedMode ?? "READ_ONLY"].toLowerCase()}, until{" "}
        <time dateTime={new Date(request.expiresAt!).toISOString()}>
          {formatAccessTime(request.expiresAt!)}
        </time>
        .
      </p>
      {canAnswer && (
        <div className={styles.actions}>
          <button
            type="button"
            disabled={isPending}
            onClick={async () => {
              setError(null)
              try {
                await revoke({ id: request.id })
              } catch (failure) {
                setError(errorMessageForPerson(failure))
              }
              await onChanged()
            }}
          >
            Revoke
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className={styles.error}>
          {error}
        </p>
      )}
    </li>
  )
}

/**
 * The Security page's access requests: those waiting for the user's answer (Approve / Deny,
 * with how long and in which mode), approvals in force (Revoke), and recent answers.
 */
export function AccessRequestsPanel() {
  const [data, { error, refetch }] = useQuery(
    getAccessRequests,
    {},
    {
      suspense: false,
      // A refusal (an admin acting as this user) is final: no polling after it.
      refetchInterval: (query) => (query.state.error ? false : ACCESS_REQUESTS_REFETCH_MS),
      retry: false,
    }
  )
  return (
    <section className={styles.panel} aria-labelledby="access-requests-title">
      <h2 id="access-requests-title">Access requests</h2>
      {error ? (
        (error as { code?: string }).code === "IMPERSONATION_REFUSED_ACTION" ? (
          <p className="hint">{errorMessageForPerson(error)}</p>
        ) : (
          <p role="alert" className={styles.error}>
            {errorMessageForPerson(error)}
          </p>
        )
      ) : !data ? (
        <p className="hint">Loading access requests…</p>
      ) : (
        <>
          {data.pending.length === 0 ? (
            <p className="hint">No requests are waiting for your answer.</p>
          ) : (
            <ul className={styles.list} aria-label="Waiting for your answer">
              {data.pending.map((request) => (
                <PendingRequest
                  key={request.id}
                  request={request}
                  onChanged={refetch}
                  canAnswer={data.canAnswer}
                />
              ))}
            </ul>
          )}
          {data.approved.length > 0 && (
            <>
              <h3>Approved access</h3>
              <ul className={styles.list} aria-label="Approved access">
                {data.approved.map((request) => (
                  <ApprovedAccess
                    key={request.id}
                    request={request}
                    onChanged={refetch}
                    canAnswer={data.canAnswer}
                  />
                ))}
              </ul>
            </>
          )}
          {data.recent.length > 0 && (
            <>
              <h3>Recent requests</h3>
              <ul className="hint">
                {data.recent.map((request) => (
                  <li key={request.id}>
                    {request.admin.name}: {request.reason} ({describeHours(request.hours)},{" "}
                    {MODE_LABELS[request.mode].toLowerCase()}) · {STATUS_WORDS[request.status]}
                    {request.decidedAt ? `, ${formatAccessTime(request.decidedAt)}` : ""}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  )
}

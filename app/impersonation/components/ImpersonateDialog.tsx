"use client"
import { useMutation, useQuery } from "@blitzjs/rpc"
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useId,
  useRef,
  useState,
  type FormEvent,
  type ReactNode,
} from "react"
import { HOUR_CHOICES, formatAccessTime } from "app/access/requestFormat"
import getAccessApproval from "app/access/queries/getAccessApproval"
import { describeStartRefusal } from "app/access/startRefusals"
import { describeHours } from "app/access/requestRules"
import styles from "app/access/components/accessRequests.module.css"
import { errorMessageForPerson } from "app/core/components/Form"
import impersonateUser from "../mutations/impersonateUser"
import { OpenInNewTabButton } from "./OpenInNewTabButton"
import { reason as reasonSchema, stepUpFields, ticketUrl as ticketUrlSchema } from "../schemas"

/**
 * The person a console row offers to impersonate. `approvalRequired`: their consent (or their
 * organization's floor) is "Ask me each time": a start asks them first, for `hours`.
 */
export type ImpersonateDialogTarget = {
  id: number
  name: string
  email: string
  approvalRequired?: boolean
}

/**
 * What the dialog's fields hold once they pass the same zod schemas the server applies; the
 * admin's password only when "Allow changes (read-write)" is ticked.
 */
export type ImpersonateDialogInput = {
  userId: number
  reason: string
  ticketUrl: string | null
  mode?: "READ_ONLY" | "READ_WRITE"
  password?: string
  /** Hours of access to ask the user for (users who approve each access). */
  hours?: number
}

/**
 * What an extra action (e.g. "Open in new tab") gets from `useImpersonateDialog()`, so that it
 * validates the same fields, reports refusals in the same place and closes the same dialog.
 */
export type ImpersonateDialogActionContext = {
  target: ImpersonateDialogTarget
  /** Validates Reason and Ticket link (showing field errors); the input, or null if invalid. */
  readInput: () => ImpersonateDialogInput | null
  /** Shows a message (a refusal, in words) inside the dialog; null clears it. */
  showError: (message: string | null) => void
  /**
   * Shows a failed start or link: "Waiting for the user's approval" as a state (not an error),
   * a denial or revocation in words, anything else as an error.
   */
  showRefusal: (failure: unknown) => void
  /** After a refusal: empties "Your password" (a step-up password is never kept around). */
  clearPassword: () => void
  /** True while Confirm or an extra action is in flight: every action button is disabled. */
  busy: boolean
  setBusy: (busy: boolean) => void
  /** Closes the dialog without starting anything. */
  close: () => void
}

export type ImpersonateDialogProps = {
  target: ImpersonateDialogTarget
  /** serverConfig.impersonation.ttlSeconds, passed from the server. */
  ttlSeconds: number
  /** Called once the dialog has closed (Cancel, Escape, or after an action). */
  onClose: () => void
  /**
   * Extra buttons shown between Confirm and Cancel (client components; they read the dialog's
   * state with `useImpersonateDialog()`). A server page may pass them as elements.
   */
  extraActions?: ReactNode
}

const DialogContext = createContext<ImpersonateDialogActionContext | null>(null)

/** For components rendered in `extraActions`: the open dialog's target, fields and controls. */
export function useImpersonateDialog(): ImpersonateDialogActionContext {
  const context = useContext(DialogContext)
  if (!context)
    throw new Error("useImpersonateDialog() is for extraActions inside ImpersonateDialog")
  return context
}

/** "20 minutes", "90 seconds", "1 hour 30 minutes": the time limit as a person reads it. */
export function describeTimeLimit(ttlSeconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`
  if (ttlSeconds < 60 || ttlSeconds % 60 !== 0) return plural(ttlSeconds, "second")
  const minutes = ttlSeconds / 60
  if (minutes < 60) return plural(minutes, "minute")
  const hours = Math.floor(minutes / 60)
  const rest = minutes % 60
  return rest === 0 ? plural(hours, "hour") : `${plural(hours, "hour")} ${plural(rest, "minute")}`
}

type FieldErrors = { reason?: string; ticketUrl?: string }

/**
 * The confirmation before every start from the console: who, the time limit, that all actions
 * are logged, a required reason and an optional ticket link, and read-only unless "Allow
 * changes (read-write)" is ticked, which asks for the admin's own password (the step-up,
 * checked on the server). Escape or Cancel starts nothing;
 * Confirm calls `impersonateUser` and goes to "/". A native modal <dialog>: the rest of the page
 * is inert while it is open and focus starts in the Reason field.
 */
export function ImpersonateDialog({
  target,
  ttlSeconds,
  onClose,
  extraActions,
}: ImpersonateDialogProps) {
  const dialogRef = useRef<HTMLDialogElement>(null)
  const ids = useId()
  const [reason, setReason] = useState("")
  const [ticketUrl, setTicketUrl] = useState("")
  const [readWrite, setReadWrite] = useState(false)
  const [password, setPassword] = useState("")
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({})
  const [error, setError] = useState<string | null>(null)
  const [waiting, setWaiting] = useState<string | null>(null)
  const [hours, setHours] = useState(1)
  const [busy, setBusy] = useState(false)
  const [impersonateUserMutation] = useMutation(impersonateUser, {
    throwOnError: false,
  })
  // The admin's own request for this user, if any: waiting, or approved until when.
  const [approval, { refetch: refetchApproval }] = useQuery(
    getAccessApproval,
    { userId: target.id },
    { suspense: false }
  )

  useEffect(() => {
    const dialog = dialogRef.current
    if (!dialog) return
    // Focus returns to whatever opened the dialog (the row's button) when it closes.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    if (!dialog.open) dialog.showModal()
    const closed = () => {
      opener?.focus()
      onClose()
    }
    dialog.addEventListener("close", closed)
    return () => dialog.removeEventListener("close", closed)
  }, [onClose])

  const close = useCallback(() => dialogRef.current?.close(), [])

  const readInput = useCallback((): ImpersonateDialogInput | null => {
    const parsedReason = reasonSchema.safeParse(reason)
    const parsedTicket = ticketUrlSchema.safeParse(ticketUrl)
    const errors: FieldErrors = {
      reason: parsedReason.success ? undefined : parsedReason.error.issues[0]?.message,
      ticketUrl: parsedTicket.success ? undefined : parsedTicket.error.issues[0]?.message,
    }
    setFieldErrors(errors)
    if (!parsedReason.success || !parsedTicket.success) {
      const firstInvalid = !parsedReason.success ? `${ids}-reason` : `${ids}-ticket`
      document.getElementById(firstInvalid)?.focus()
      return null
    }
    return {
      userId: target.id,
      reason: parsedReason.data,
      ticketUrl: parsedTicket.data ?? null,
      ...stepUpFields(readWrite, password),
      ...(target.approvalRequired ? { hours } : {}),
    }
  }, [reason, ticketUrl, readWrite, password, target.id, target.approvalRequired, hours, ids])

  const clearPassword = useCallback(() => setPassword(""), [])

  const showError = useCallback((message: string | null) => {
    setWaiting(null)
    setError(message)
  }, [])

  const showRefusal = useCallback(
    (failure: unknown) => {
      const about = describeStartRefusal(failure)
      setWaiting(about?.kind === "waiting" ? about.message : null)
      setError(about?.kind === "waiting" ? null : about?.message ?? errorMessageForPerson(failure))
      if (about) void refetchApproval()
    },
    [refetchApproval]
  )

  async function confirm(event: FormEvent) {
    event.preventDefault()
    showError(null)
    const input = readInput()
    if (!input || busy) return
    setBusy(true)
    try {
      await impersonateUserMutation(input)
      window.location.assign("/")
    } catch (failure) {
      showRefusal(failure)
      clearPassword()
      setBusy(false)
    }
  }

  const titleId = `${ids}-title`
  const descriptionId = `${ids}-description`
  const context: ImpersonateDialogActionContext = {
    target,
    readInput,
    showError,
    showRefusal,
    clearPassword,
    busy,
    setBusy,
    close,
  }
  return (
    <dialog
      ref={dialogRef}
      className="impersonate-dialog"
      aria-labelledby={titleId}
      aria-describedby={descriptionId}
      // A start in flight cannot be cancelled half-way: Escape waits until it has answered.
      onCancel={(event) => busy && event.preventDefault()}
    >
      <form onSubmit={confirm} noValidate className="form">
        <h2 id={titleId}>Impersonate {target.name}</h2>
        <div id={descriptionId}>
          <p>
            You will act as <strong>{target.name}</strong> ({target.email}).
          </p>
          <p>
            The session lasts at most {describeTimeLimit(ttlSeconds)} and cannot be extended. All
            actions are logged.
          </p>
          {approval?.status === "approved" && approval.until ? (
            <p role="status" className={styles.info}>
              Approved by the user until {formatAccessTime(approval.until)}
              {approval.approvedMode === "READ_WRITE" ? " (read-write)" : " (read-only)"}.
            </p>
          ) : approval?.status === "pending" && !waiting ? (
            <p role="status" className={styles.info}>
              Waiting for the user&apos;s approval: you asked for {describeHours(approval.hours)};
              the request expires unanswered at {formatAccessTime(approval.requestExpiresAt)}.
            </p>
          ) : target.approvalRequired ? (
            <p className="hint">
              Approval required: this user approves each access. Confirm sends them a request (in
              the app and by email); you can start once they approve.
            </p>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor={`${ids}-reason`}>Reason</label>
          <textarea
            id={`${ids}-reason`}
            name="reason"
            rows={3}
            required
            autoFocus
            value={reason}
            disabled={busy}
            placeholder="What you are checking, and why"
            aria-invalid={Boolean(fieldErrors.reason)}
            aria-describedby={fieldErrors.reason ? `${ids}-reason-error` : undefined}
            onChange={(event) => setReason(event.target.value)}
          />
          {fieldErrors.reason && (
            <div role="alert" id={`${ids}-reason-error`} className="field-error">
              {fieldErrors.reason}
            </div>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${ids}-ticket`}>Ticket link</label>
          <input
            id={`${ids}-ticket`}
            name="ticketUrl"
            type="url"
            inputMode="url"
            value={ticketUrl}
            disabled={busy}
            placeholder="https://… (optional)"
            aria-invalid={Boolean(fieldErrors.ticketUrl)}
            aria-describedby={fieldErrors.ticketUrl ? `${ids}-ticket-error` : undefined}
            onChange={(event) => setTicketUrl(event.target.value)}
          />
          {fieldErrors.ticketUrl && (
            <div role="alert" id={`${ids}-ticket-error`} className="field-error">
              {fieldErrors.ticketUrl}
            </div>
          )}
        </div>
        <div className="checkbox-field">
          <input
            id={`${ids}-read-write`}
            name="readWrite"
            type="checkbox"
            checked={readWrite}
            disabled={busy}
            aria-describedby={`${ids}-read-write-hint`}
            onChange={(event) => {
              setReadWrite(event.target.checked)
              if (!event.target.checked) setPassword("")
            }}
          />
          <label htmlFor={`${ids}-read-write`}>Allow changes (read-write)</label>
        </div>
        <p id={`${ids}-read-write-hint`} className="hint">
          {readWrite
            ? "Changes you make are made as this user, each one logged with your name. Some actions stay refused."
            : "Read-only: you can look, but every change is refused."}
        </p>
        {readWrite && (
          <div className="field">
            <label htmlFor={`${ids}-password`}>Your password</label>
            <input
              id={`${ids}-password`}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              autoFocus
              value={password}
              disabled={busy}
              onChange={(event) => setPassword(event.target.value)}
            />
          </div>
        )}
        {target.approvalRequired && approval?.status !== "approved" && (
          <div className="field">
            <label htmlFor={`${ids}-hours`}>Hours of access to ask for</label>
            <select
              id={`${ids}-hours`}
              name="hours"
              value={hours}
              disabled={busy}
              onChange={(event) => setHours(Number(event.target.value))}
            >
              {HOUR_CHOICES.map((choice) => (
                <option key={choice} value={choice}>
                  {describeHours(choice)}
                </option>
              ))}
            </select>
          </div>
        )}
        {waiting && (
          <p role="status" className={styles.info}>
            {waiting}
          </p>
        )}
        {error && (
          <div role="alert" className="form-error">
            {error}
          </div>
        )}
        <div className="dialog-actions">
          <button type="submit" disabled={busy}>
            Confirm
          </button>
          {/* EXTRA ACTIONS: buttons such as "Open in new tab" go here, via `extraActions`. */}
          <DialogContext.Provider value={context}>
            <OpenInNewTabButton />
            {extraActions}
          </DialogContext.Provider>
          <button type="button" className="secondary" disabled={busy} onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  )
}

/**
 * A row's "Impersonate" button and the dialog it opens; the dialog is mounted only while
 * open, so a page of rows holds one dialog at most.
 */
export function ImpersonateButton({
  target,
  ttlSeconds,
  extraActions,
}: Omit<ImpersonateDialogProps, "onClose">) {
  const [open, setOpen] = useState(false)
  const onClose = useCallback(() => setOpen(false), [])
  return (
    <>
      <button
        type="button"
        className="row-action"
        aria-haspopup="dialog"
        aria-label={`Impersonate ${target.name}`}
        onClick={() => setOpen(true)}
      >
        Impersonate
      </button>
      {open && (
        <ImpersonateDialog
          target={target}
          ttlSeconds={ttlSeconds}
          onClose={onClose}
          extraActions={extraActions}
        />
      )}
    </>
  )
}

export default ImpersonateDialog

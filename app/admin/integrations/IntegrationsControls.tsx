"use client"
import { useMutation } from "@blitzjs/rpc"
import { useRouter } from "next/navigation"
import { useState, useTransition } from "react"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import createWebhookEndpoint from "./mutations/createWebhookEndpoint"
import deleteWebhookEndpoint from "./mutations/deleteWebhookEndpoint"
import retryOutboxMessage from "./mutations/retryOutboxMessage"
import setWebhookEndpointEnabled from "./mutations/setWebhookEndpointEnabled"
import { CreateWebhookEndpoint } from "./schemas"

/** "Add endpoint": the server generates the secret; it is shown here once. */
export function AddEndpointForm() {
  const router = useRouter()
  const [create] = useMutation(createWebhookEndpoint, { throwOnError: false })
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null)
  return (
    <>
      {created && (
        <div className="new-key" role="status">
          <p>
            Endpoint added: <strong>{created.url}</strong>. Its signing secret:
          </p>
          <p>
            <code data-testid="new-webhook-secret">{created.secret}</code>
          </p>
          <p className="hint">
            Copy it now into the receiver&apos;s configuration: it is shown only this once. Deliveries carry an
            Acme-Signature header made with it.
          </p>
        </div>
      )}
      <Form
        schema={CreateWebhookEndpoint}
        submitText="Add endpoint"
        aria-label="Add webhook endpoint"
        initialValues={{ url: "", description: "" }}
        onSubmit={async (values, form) => {
          setCreated(null)
          try {
            const endpoint = await create({ url: values.url, description: values.description || undefined })
            setCreated({ url: endpoint.url, secret: endpoint.secret })
            setTimeout(() => form.restart())
            router.refresh()
          } catch (error) {
            return { [FORM_ERROR]: errorMessageForPerson(error) }
          }
        }}
      >
        <LabeledTextField name="url" label="Endpoint URL" type="text" inputMode="url" autoComplete="off" placeholder="https://hooks.example.com/acme" />
        <LabeledTextField name="description" label="Description (optional)" autoComplete="off" />
      </Form>
    </>
  )
}

/** A button that runs one mutation, then fetches the page again; a refusal is shown beside it. */
function ActionButton({ label, ariaLabel, run, danger }: { label: string; ariaLabel: string; run: () => Promise<unknown>; danger?: boolean }) {
  const router = useRouter()
  const [busy, setBusy] = useState(false)
  const [refreshing, startRefresh] = useTransition()
  const [problem, setProblem] = useState<string | null>(null)
  return (
    <>
      <button
        type="button"
        className={danger ? "end-button" : "row-action"}
        aria-label={ariaLabel}
        disabled={busy || refreshing}
        onClick={async () => {
          setProblem(null)
          setBusy(true)
          try {
            await run()
          } catch (error) {
            setProblem(errorMessageForPerson(error))
            return
          } finally {
            setBusy(false)
          }
          startRefresh(() => router.refresh())
        }}
      >
        {label}
      </button>
      {problem && (
        <span role="alert" className="field-error">
          {" "}
          {problem}
        </span>
      )}
    </>
  )
}

export function EndpointActions({ id, url, enabled }: { id: number; url: string; enabled: boolean }) {
  const [setEnabled] = useMutation(setWebhookEndpointEnabled)
  const [remove] = useMutation(deleteWebhookEndpoint)
  return (
    <span className="role-form">
      <ActionButton
        label={enabled ? "Disable" : "Enable"}
        ariaLabel={`${enabled ? "Disable" : "Enable"} ${url}`}
        run={() => setEnabled({ id, enabled: !enabled })}
      />
      <ActionButton
        label="Delete"
        ariaLabel={`Delete ${url}`}
        danger
        run={async () => {
          if (!window.confirm(`Delete the endpoint ${url}? It will receive no more events.`)) return
          await remove({ id })
        }}
      />
    </span>
  )
}

export function RetryButton({ id }: { id: number }) {
  const [retry] = useMutation(retryOutboxMessage)
  return <ActionButton label="Retry" ariaLabel={`Retry delivery ${id}`} run={() => retry({ id })} />
}

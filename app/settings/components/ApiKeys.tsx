"use client"
import { useMutation } from "@blitzjs/rpc"
import { useState } from "react"
import { FORM_ERROR, Form, errorMessageForPerson } from "app/core/components/Form"
import { LabeledTextField } from "app/core/components/LabeledTextField"
import { formatUtc, isMasked } from "../masking"
import createApiKey from "../mutations/createApiKey"
import revokeApiKey from "../mutations/revokeApiKey"
import type { ApiKeySummary } from "../queries/getSettings"
import { CreateApiKeyForm } from "../schemas"
import { MaskedValue } from "./MaskedValue"

function RevokeButton({ apiKey, onRevoked }: { apiKey: ApiKeySummary; onRevoked: () => Promise<unknown> }) {
  const [revoke, { isPending }] = useMutation(revokeApiKey, { throwOnError: false })
  const [error, setError] = useState<string | null>(null)
  return (
    <>
      <button
        type="button"
        className="end-button"
        disabled={isPending}
        aria-label={`Revoke ${apiKey.name}`}
        onClick={async () => {
          setError(null)
          try {
            await revoke({ id: apiKey.id })
            await onRevoked()
          } catch (failure) {
            setError(errorMessageForPerson(failure))
          }
        }}
      >
        Revoke
      </button>
      {error && (
        <span role="alert" className="field-error">
          {" "}
          {error}
        </span>
      )}
    </>
  )
}

/** Personal API keys: create (the key is shown once), list, revoke. */
export function ApiKeys({ apiKeys, onChanged }: { apiKeys: ApiKeySummary[]; onChanged: () => Promise<unknown> }) {
  const [create] = useMutation(createApiKey, { throwOnError: false })
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null)
  return (
    <>
      {created && (
        <div className="new-key" role="status">
          <p>
            Your new key <strong>{created.name}</strong>:
          </p>
          <p>
            <code data-testid="new-api-key">{created.key}</code>
          </p>
          <p className="hint">Copy it now: it is shown only this once. Only a hash of it is stored, so nobody can show it again.</p>
        </div>
      )}
      <Form
        schema={CreateApiKeyForm}
        submitText="Create API key"
        aria-label="Create API key"
        initialValues={{ keyName: "" }}
        onSubmit={async (values, form) => {
          setCreated(null)
          try {
            const result = await create({ name: values.keyName })
            setCreated({ name: result.name, key: result.key })
            await onChanged()
            setTimeout(() => form.restart())
          } catch (error) {
            return { [FORM_ERROR]: errorMessageForPerson(error) }
          }
        }}
      >
        <LabeledTextField name="keyName" label="Key name" autoComplete="off" />
      </Form>
      {apiKeys.length === 0 ? (
        <p>You have no API keys.</p>
      ) : (
        <table className="directory">
          <caption className="visually-hidden">Your API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Ends with</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {apiKeys.map((apiKey) => (
              <tr key={apiKey.id}>
                <td>{apiKey.name}</td>
                <td>
                  {isMasked(apiKey.lastChars) ? (
                    <MaskedValue masked={apiKey.lastChars} field="ApiKey.lastChars" id={apiKey.id} label={`Ending of ${apiKey.name}`} />
                  ) : (
                    <code>…{apiKey.lastChars}</code>
                  )}
                </td>
                <td>
                  <time dateTime={new Date(apiKey.createdAt).toISOString()}>{formatUtc(apiKey.createdAt)}</time>
                </td>
                <td>
                  {apiKey.revokedAt ? (
                    <>Revoked {formatUtc(apiKey.revokedAt)}</>
                  ) : (
                    <>
                      Active <RevokeButton apiKey={apiKey} onRevoked={onChanged} />
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}

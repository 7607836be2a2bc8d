"use client"
import { useQuery } from "@blitzjs/rpc"
import Link from "next/link"
import { useState } from "react"
import { SignOutEverywhereButton } from "app/auth/components/SignOutEverywhereButton"
import { errorMessageForPerson } from "app/core/components/Form"
import { ApiKeys } from "./components/ApiKeys"
import { DeleteAccountForm } from "./components/DeleteAccountForm"
import { EmailForm } from "./components/EmailForm"
import { MaskedValue } from "./components/MaskedValue"
import { PasswordForm } from "./components/PasswordForm"
import { ProfileForm } from "./components/ProfileForm"
import { formatUtc, isMasked } from "./masking"
import getSettings from "./queries/getSettings"

const ORG_ROLE_NAMES = { OWNER: "owner", ADMIN: "admin", MEMBER: "member" } as const

/**
 * The user's own settings. A client page on purpose: everything shown is read through RPC
 * (getSettings), so while someone impersonates the user the sensitive fields arrive masked.
 */
export default function SettingsPage() {
  const [settings, { error, isLoading, refetch }] = useQuery(getSettings, null, { refetchOnWindowFocus: false })
  const signedOut = (error as { name?: string } | null)?.name === "AuthenticationError"
  const [passwordNotice, setPasswordNotice] = useState<string | null>(null)

  return (
    <section>
      <h1>Settings</h1>
      {signedOut ? (
        <p>
          <Link href="/login">Log in</Link> to see your settings.
        </p>
      ) : error ? (
        <p role="alert" className="form-error">
          {errorMessageForPerson(error)}
        </p>
      ) : isLoading || !settings ? (
        <p className="hint">Loading your settings…</p>
      ) : (
        <>
          <h2>Profile</h2>
          <dl>
            <dt>Name</dt>
            <dd>{settings.name}</dd>
            <dt>Email</dt>
            <dd>{settings.email}</dd>
            <dt>Phone</dt>
            <dd data-testid="phone">
              {isMasked(settings.phone) ? (
                <MaskedValue masked={settings.phone} field="User.phone" label="Phone number" />
              ) : (
                (settings.phone ?? "None")
              )}
            </dd>
            <dt>User ID</dt>
            <dd>{settings.id}</dd>
            <dt>Member since</dt>
            <dd>
              <time dateTime={new Date(settings.createdAt).toISOString()}>{formatUtc(settings.createdAt)}</time>
            </dd>
          </dl>
          <p data-testid="last-seen">
            Last seen:{" "}
            {settings.lastSeenAt ? (
              <time dateTime={new Date(settings.lastSeenAt).toISOString()}>{formatUtc(settings.lastSeenAt)}</time>
            ) : (
              "never"
            )}
          </p>
          <ProfileForm key={`${settings.name}|${settings.phone}`} settings={settings} onSaved={refetch} />

          <h2>Organizations</h2>
          {settings.organizations.length === 0 ? (
            <p>You are not a member of any organization.</p>
          ) : (
            <ul>
              {settings.organizations.map((organization) => (
                <li key={organization.id}>
                  <Link href={`/organizations/${organization.id}`}>{organization.name}</Link> (
                  {ORG_ROLE_NAMES[organization.role]})
                </li>
              ))}
            </ul>
          )}

          <h2>Password</h2>
          <p className="hint">Changing it signs out your other sessions and ends any impersonation you started.</p>
          {passwordNotice && (
            <p className="hint" role="status" data-testid="password-notice">
              {passwordNotice}
            </p>
          )}
          <PasswordForm onChanged={setPasswordNotice} />

          <h2>Email</h2>
          <EmailForm onChanged={refetch} />

          <h2>API keys</h2>
          <ApiKeys apiKeys={settings.apiKeys} onChanged={refetch} />

          <h2>Sessions</h2>
          <p>Sign out of every browser and device, and end any impersonation you started.</p>
          <SignOutEverywhereButton />

          <h2>Delete account</h2>
          <p className="hint">
            Your name, email, phone number and password are erased and your API keys revoked. Projects nobody else
            shares are deleted; projects shared with others stay with them. This cannot be undone.
          </p>
          <DeleteAccountForm />
        </>
      )}
    </section>
  )
}

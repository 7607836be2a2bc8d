"use client"
import { LiveAccessSentence } from "./LiveAccessNotice"
import { useLiveAccess } from "./useLiveAccess"
import "./access.css"

/** The Security page's "In your account now": each live impersonation of the user, with End access. */
export function LiveAccessPanel() {
  const { live, refused, endAccess, ending, problem } = useLiveAccess()
  return (
    <section aria-labelledby="live-access-heading">
      <h2 id="live-access-heading">In your account now</h2>
      {refused ? (
        <p className="hint">{refused}</p>
      ) : live.length === 0 ? (
        <p className="hint">Nobody from support is in your account now.</p>
      ) : (
        <div className="live-access-panel" aria-live="polite">
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
          <p className="hint">
            End access sends them out at their next click. It does not take back an approval you gave: to keep
            that admin out, press Revoke under &ldquo;Approved access&rdquo;; to keep everyone out, choose
            &ldquo;Never&rdquo; below.
          </p>
        </div>
      )}
      {problem && (
        <p role="alert" className="form-error">
          {problem}
        </p>
      )}
    </section>
  )
}

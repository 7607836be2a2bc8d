import type { Metadata } from "next"
import { AccessHistory } from "app/access/components/AccessHistory"
import { AccessRequestsPanel } from "app/access/components/AccessRequestsPanel"
import { ConsentSetting } from "app/access/components/ConsentSetting"
import { LiveAccessPanel } from "app/access/components/LiveAccessPanel"

export const metadata: Metadata = { title: "Security · Acme Support Console" }

/**
 * The user's side of impersonation (DESIGN.md "The user's Security page"): who is in the
 * account now (End access), requests waiting for an answer (Approve / Deny) and approvals given
 * (Revoke), whether support may access the account at all, and every access so far. Each
 * section reads through RPC, so the server decides what it shows.
 */
export default function SecurityPage() {
  return (
    <section>
      <h1>Security</h1>
      <LiveAccessPanel />
      <AccessRequestsPanel />
      <ConsentSetting />
      <AccessHistory />
    </section>
  )
}

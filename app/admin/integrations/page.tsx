import { forbidden } from "next/navigation"
import { requireAdminConsole } from "app/admin/access"
import { AddEndpointForm, EndpointActions, RetryButton } from "./IntegrationsControls"
import { DELIVERIES_SHOWN, loadIntegrationsPage, type DeliveryRow } from "./integrations"

export const metadata = { title: "Integrations · Admin console" }

/** A fixed, zone-independent rendering, so server and browser print the same text. */
function formatWhen(at: Date | null): string {
  return at ? `${at.toISOString().slice(0, 19).replace("T", " ")} UTC` : "—"
}

const STATUS_WORDS: Record<DeliveryRow["status"], string> = {
  PENDING: "Pending",
  SENT: "Delivered",
  DEAD: "Dead (gave up)",
  HELD: "Held",
  FAILED: "Failed",
}

function endpointName(delivery: DeliveryRow): string {
  if (delivery.endpoint === "environment") return "Environment (WEBHOOK_URL)"
  const name = delivery.endpoint.description || `Endpoint #${delivery.endpoint.id}`
  return delivery.endpoint.deleted ? `${name} (deleted)` : name
}

/**
 * /admin/integrations (SUPERADMIN only): the webhook endpoints that receive impersonation and
 * access-request events, and their recent deliveries, dead ones marked with a Retry.
 */
export default async function IntegrationsPage() {
  const { admin } = await requireAdminConsole()
  if (admin.role !== "SUPERADMIN") forbidden()
  const page = await loadIntegrationsPage()
  return (
    <section>
      <h1>Integrations</h1>
      <p className="hint">
        Webhook endpoints receive every impersonation start and end and every access request and decision, as
        JSON signed with HMAC-SHA256 (header Acme-Signature: t=…,v1=…). Failed deliveries are retried with
        backoff; after the last try a delivery is dead and can be retried here.
      </p>

      <h2>Endpoints</h2>
      <div className="table-scroll">
        <table className="audit-table">
          <caption className="visually-hidden">Webhook endpoints</caption>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Description</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.environmentEndpoint && (
              <tr data-endpoint="environment">
                <td>{page.environmentEndpoint.url}</td>
                <td>From the environment (WEBHOOK_URL, WEBHOOK_SECRET)</td>
                <td>Enabled</td>
                <td className="hint">Change it in the server&apos;s environment</td>
              </tr>
            )}
            {page.endpoints.map((endpoint) => (
              <tr key={endpoint.id} data-endpoint-id={endpoint.id}>
                <td>{endpoint.url}</td>
                <td>{endpoint.description ?? "—"}</td>
                <td>{endpoint.enabled ? "Enabled" : "Disabled"}</td>
                <td>
                  <EndpointActions id={endpoint.id} url={endpoint.url} enabled={endpoint.enabled} />
                </td>
              </tr>
            ))}
            {!page.environmentEndpoint && page.endpoints.length === 0 && (
              <tr>
                <td colSpan={4}>No endpoints yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>

      <h2>Add an endpoint</h2>
      <AddEndpointForm />

      <h2>Recent deliveries</h2>
      <p className="hint">The last {DELIVERIES_SHOWN} webhook messages, newest first. Times are UTC.</p>
      {page.deliveries.length === 0 ? (
        <p>No deliveries yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="audit-table">
            <caption className="visually-hidden">Recent webhook deliveries</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Next attempt</th>
                <th scope="col">Last error</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.deliveries.map((delivery) => (
                <tr key={delivery.id} data-delivery-id={delivery.id} data-status={delivery.status}>
                  <td>
                    {delivery.type}
                    <br />
                    <span className="hint">#{delivery.id}</span>
                  </td>
                  <td>
                    {endpointName(delivery)}
                    <br />
                    <span className="hint">{delivery.url}</span>
                  </td>
                  <td>{formatWhen(delivery.createdAt)}</td>
                  <td>{delivery.status === "DEAD" ? <strong className="field-error">{STATUS_WORDS.DEAD}</strong> : STATUS_WORDS[delivery.status]}</td>
                  <td>{delivery.attempts}</td>
                  <td>{delivery.status === "PENDING" ? formatWhen(delivery.nextAttemptAt) : "—"}</td>
                  <td className="audit-reason">{delivery.lastError ?? "—"}</td>
                  <td>{delivery.status === "DEAD" && <RetryButton id={delivery.id} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

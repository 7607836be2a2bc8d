import crypto from "node:crypto"

/**
 * Signed webhooks, Stripe's scheme: each POST carries
 * `Acme-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`,
 * signed afresh at each attempt, so a receiver can refuse old or replayed deliveries
 * (integrations/webhook-receiver.example.mjs verifies it).
 */

export const SIGNATURE_HEADER = "Acme-Signature"
export const EVENT_ID_HEADER = "Acme-Event-Id"

/** The event types a webhook can carry, by the audit action they report. */
export const WEBHOOK_EVENT_TYPES = {
  IMPERSONATION_STARTED: "impersonation.started",
  IMPERSONATION_ENDED: "impersonation.ended",
  ACCESS_REQUESTED: "access_request.created",
  ACCESS_APPROVED: "access_request.approved",
  ACCESS_DENIED: "access_request.denied",
  ACCESS_REVOKED: "access_request.revoked",
  ACCESS_REQUEST_EXPIRED: "access_request.expired",
} as const

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[keyof typeof WEBHOOK_EVENT_TYPES]

/** The hex HMAC-SHA256 of `"<t>.<body>"`: what `v1=` carries. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return crypto.createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")
}

/** The value of the Acme-Signature header for `body` sent at `now`. */
export function signatureHeader(secret: string, body: string, now = new Date()): string {
  const timestamp = Math.floor(now.getTime() / 1000)
  return `t=${timestamp},v1=${webhookSignature(secret, timestamp, body)}`
}

/** A new endpoint secret (shown once to the SUPERADMIN who creates the endpoint). */
export function generateWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString("base64url")}`
}

export type WebhookAttempt = { ok: true; status: number } | { ok: false; error: string }

/**
 * POSTs one signed body. A 2xx answer is success; any other status, a timeout or a refused
 * connection is a failure with a short reason (kept as the message's `lastError`).
 */
export async function postWebhook(input: {
  url: string
  secret: string
  eventId: string
  body: string
  timeoutMs: number
  now?: Date
}): Promise<WebhookAttempt> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), input.timeoutMs)
  try {
    const response = await fetch(input.url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "Acme-Webhooks/1",
        [SIGNATURE_HEADER]: signatureHeader(input.secret, input.body, input.now),
        [EVENT_ID_HEADER]: input.eventId,
      },
      body: input.body,
      signal: controller.signal,
      redirect: "manual", // a redirect is not a delivery: the receiver must answer 2xx itself
    })
    // The answer's body is not needed; reading it frees the connection.
    await response.arrayBuffer().catch(() => undefined)
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status }
    return { ok: false, error: `The endpoint answered HTTP ${response.status}` }
  } catch (error) {
    if (controller.signal.aborted) return { ok: false, error: `No answer within ${input.timeoutMs} ms` }
    return { ok: false, error: describeNetworkError(error) }
  } finally {
    clearTimeout(timer)
  }
}

/** fetch's "fetch failed" in words: the cause's code (ECONNREFUSED, ENOTFOUND...) says what happened. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause
  const code = cause?.code
  if (code === "ECONNREFUSED") return "Connection refused"
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "Host not found"
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "The connection was closed without an answer"
  const text = cause?.message ?? (error instanceof Error ? error.message : String(error))
  return `Could not reach the endpoint: ${code ? `${code} ` : ""}${text}`.slice(0, 300)
}

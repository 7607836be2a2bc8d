// A webhook receiver that verifies the Acme-Signature header (node:http and node:crypto only).
// Run: WEBHOOK_SECRET=whsec_... node webhook-receiver.example.mjs   (listens on PORT, default 4000)
import crypto from "node:crypto"
import http from "node:http"
import { pathToFileURL } from "node:url"

const TOLERANCE_SECONDS = 5 * 60 // refuse deliveries signed more than 5 minutes ago (replays)

/** True when `header` ("t=...,v1=...") signs exactly `rawBody` with `secret`, recently enough. */
export function verifySignature(header, rawBody, secret, nowSeconds = Math.floor(Date.now() / 1000)) {
  const parts = Object.create(null)
  for (const item of String(header ?? "").split(",")) {
    const at = item.indexOf("=")
    if (at > 0) (parts[item.slice(0, at).trim()] ??= []).push(item.slice(at + 1).trim())
  }
  const timestamp = Number(parts.t?.[0])
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > TOLERANCE_SECONDS) return false
  const expected = crypto.createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest()
  // Constant-time compare against every v1 the header carries (several during a secret rotation).
  return (parts.v1 ?? []).some((candidate) => {
    const given = Buffer.from(candidate, "hex")
    return given.length === expected.length && crypto.timingSafeEqual(given, expected)
  })
}

export function createReceiver(secret, onEvent = (event) => console.log("Received", event.type, event.id)) {
  return http.createServer((req, res) => {
    const chunks = []
    req.on("data", (chunk) => chunks.push(chunk))
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8") // verify the bytes as sent, before parsing
      if (req.method !== "POST" || !verifySignature(req.headers["acme-signature"], rawBody, secret)) {
        res.writeHead(400).end("Invalid signature")
        return
      }
      onEvent(JSON.parse(rawBody)) // { id, type, createdAt, data }; the same id may come twice: dedupe on it
      res.writeHead(204).end()
    })
  })
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.WEBHOOK_SECRET
  if (!secret) throw new Error("Set WEBHOOK_SECRET to the endpoint's secret")
  const port = Number(process.env.PORT ?? 4000)
  createReceiver(secret).listen(port, () => console.log(`Listening for webhooks on http://localhost:${port}`))
}

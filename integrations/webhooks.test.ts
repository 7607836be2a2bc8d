import crypto from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { verifySignature } from "./webhook-receiver.example.mjs"
import { generateWebhookSecret, signatureHeader, webhookSignature } from "./webhooks"

const secret = "whsec_test_0123456789abcdef"
const body = '{"id":"evt_1","type":"impersonation.started"}'
const at = new Date("2026-12-06T10:00:00.000Z")
const atSeconds = at.getTime() / 1000

describe("webhook signatures (Stripe's scheme)", () => {
  it("the README shows the receiver these tests run, word for word", () => {
    const readme = fs.readFileSync(path.join(process.cwd(), "README.md"), "utf8")
    const receiver = fs.readFileSync(path.join(process.cwd(), "integrations", "webhook-receiver.example.mjs"), "utf8")
    expect(readme).toContain("```js\n" + receiver.trimEnd() + "\n```")
  })

  it("signs '<t>.<body>' with HMAC-SHA256 in hex, as t=...,v1=...", () => {
    const expected = crypto.createHmac("sha256", secret).update(`${atSeconds}.${body}`).digest("hex")
    expect(webhookSignature(secret, atSeconds, body)).toBe(expected)
    expect(signatureHeader(secret, body, at)).toBe(`t=${atSeconds},v1=${expected}`)
  })

  it("the README's receiver accepts it and refuses a changed body, another secret, or an old timestamp", () => {
    const header = signatureHeader(secret, body, at)
    expect(verifySignature(header, body, secret, atSeconds + 10)).toBe(true)
    expect(verifySignature(header, body.replace("started", "ended"), secret, atSeconds)).toBe(false)
    expect(verifySignature(header, body, "whsec_another_secret_000", atSeconds)).toBe(false)
    expect(verifySignature(header, body, secret, atSeconds + 5 * 60 + 1)).toBe(false)
    expect(verifySignature(header, body, secret, atSeconds - 5 * 60 - 1)).toBe(false)
  })

  it("the receiver refuses a missing, malformed or truncated header", () => {
    const header = signatureHeader(secret, body, at)
    for (const bad of [undefined, "", "v1=abc", `t=${atSeconds}`, header.slice(0, -2), `t=abc,${header.split(",")[1]}`]) {
      expect(verifySignature(bad, body, secret, atSeconds)).toBe(false)
    }
  })

  it("the receiver accepts any one valid v1 among several (secret rotation)", () => {
    const valid = webhookSignature(secret, atSeconds, body)
    expect(verifySignature(`t=${atSeconds},v1=${"0".repeat(64)},v1=${valid}`, body, secret, atSeconds)).toBe(true)
  })

  it("generates distinct, long secrets", () => {
    const a = generateWebhookSecret()
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/)
    expect(generateWebhookSecret()).not.toBe(a)
  })
})

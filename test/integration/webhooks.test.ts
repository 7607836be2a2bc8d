import http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { sealPendingAuditEvents } from "app/audit/log"
import { loadIntegrationsPage } from "app/admin/integrations/integrations"
import { serverConfig } from "app/core/serverConfig"
import { createReceiver, verifySignature } from "integrations/webhook-receiver.example.mjs"
import { runOutboxPass } from "mailers/worker"
import type { TestBrowser } from "test/helpers/browser"
import { createUser } from "test/helpers/fixtures"
import { signIn, stop } from "test/helpers/session"

/**
 * Item 6: impersonation and access-request events reach webhook endpoints as signed JSON, from
 * the outbox, with retries, backoff and a dead-letter state, against real HTTP servers on
 * loopback. The signature is checked by the very receiver the README shows.
 */

type Seen = { headers: http.IncomingHttpHeaders; body: string }

/** A real HTTP server on a loopback port; `answer` decides each response (or never answers). */
async function startServer(answer: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const seen: Seen[] = []
  const sockets = new Set<import("node:net").Socket>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      seen.push({ headers: req.headers, body })
      answer(req, res, body)
    })
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

const saved = {
  outbox: { ...serverConfig.outbox },
  webhooks: { ...serverConfig.webhooks },
}
let superadmin: TestBrowser
const endpointIds: number[] = []
const closers: Array<() => Promise<void>> = []

beforeAll(async () => {
  superadmin = await signIn(await createUser({ label: "superadmin", role: "SUPERADMIN" }))
})

afterEach(async () => {
  Object.assign(serverConfig.outbox, saved.outbox)
  Object.assign(serverConfig.webhooks, saved.webhooks)
  // Other tests' events must not be sent to this test's endpoints.
  await db.webhookEndpoint.updateMany({ where: { id: { in: endpointIds } }, data: { enabled: false } })
  while (closers.length) await closers.pop()!()
})

afterAll(async () => {
  await db.webhookEndpoint.updateMany({ where: { id: { in: endpointIds } }, data: { enabled: false, deletedAt: new Date() } })
})

async function addEndpoint(url: string, description = "Test receiver") {
  const res = await superadmin.rpc<{ id: number; secret: string; url: string }>("createWebhookEndpoint", { url, description })
  expect(res.error).toBeNull()
  endpointIds.push(res.result!.id)
  return res.result!
}

/** A real start (and optionally Stop) by a support person: the events webhooks report. */
async function impersonationEvents({ stopToo = false } = {}) {
  const staff = await createUser({ label: "support", role: "SUPPORT" })
  const user = await createUser({ label: "customer" })
  const browser = await signIn(staff)
  const res = await browser.rpc<{ impersonationId: number }>("impersonateUser", { userId: user.id, reason: "Ticket 88: webhook check" })
  expect(res.error).toBeNull()
  const impersonationId = res.result!.impersonationId
  if (stopToo) await stop(browser)
  const events = await db.auditEvent.findMany({
    where: { impersonationId, action: { in: ["IMPERSONATION_STARTED", "IMPERSONATION_ENDED"] } },
    orderBy: { id: "asc" },
  })
  return { staff, user, impersonationId, events }
}

async function messagesFor(endpointId: number | null, auditEventId: number) {
  await sealPendingAuditEvents() // what events send is queued when they are sealed
  return db.outboxMessage.findMany({ where: { kind: "WEBHOOK", endpointId, auditEventId }, orderBy: { id: "asc" } })
}

/** Runs worker passes until `done` holds (waiting out the backoff between them), or fails after 20 s. */
async function passUntil(done: () => Promise<boolean>) {
  await sealPendingAuditEvents()
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    await runOutboxPass()
    if (await done()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error("The outbox did not reach the expected state in time")
}

describe("signed webhooks", () => {
  it("deliver each impersonation event once, signed so that the README's receiver verifies it; a tampered body fails", async () => {
    // The README's receiver, behind a port chosen before its secret exists.
    let receiver: http.Server | null = null
    const received: Array<{ id: string; type: string; data: Record<string, unknown> }> = []
    const front = await startServer((req, res) => {
      res.statusCode = 502
      res.end()
    })
    closers.push(front.close)
    const proxy = http.createServer((req, res) => receiver!.emit("request", req, res))
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
    closers.push(() => new Promise<void>((resolve) => proxy.close(() => resolve())))
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/webhooks`
    const endpoint = await addEndpoint(url)
    receiver = createReceiver(endpoint.secret, (event) => received.push(event))
    const headers: http.IncomingHttpHeaders[] = []
    proxy.on("request", (req: http.IncomingMessage) => headers.push(req.headers))

    const { events, impersonationId, staff, user } = await impersonationEvents({ stopToo: true })
    expect(events.map((e) => e.action)).toEqual(["IMPERSONATION_STARTED", "IMPERSONATION_ENDED"])
    const [startedEvent, endedEvent] = events
    expect(await messagesFor(endpoint.id, startedEvent!.id)).toMatchObject([{ status: "PENDING", to: url, subject: "impersonation.started" }])

    await passUntil(async () => (await db.outboxMessage.count({ where: { endpointId: endpoint.id, status: "PENDING" } })) === 0)
    // A batch is sent in parallel: receivers get events in any order and sort them by the event's id (README).
    const mine = received
      .filter((event) => event.data.impersonationId === impersonationId)
      .sort((a, b) => Number(a.data.auditEventId) - Number(b.data.auditEventId))
    expect(mine.map((event) => event.type)).toEqual(["impersonation.started", "impersonation.ended"])
    expect(mine[0]).toMatchObject({
      id: `evt_${startedEvent!.id}`,
      data: { auditEventId: startedEvent!.id, action: "IMPERSONATION_STARTED", actorId: staff.id, subjectId: user.id, impersonationId },
    })
    expect(mine[0]!.data.details).toMatchObject({ reason: "Ticket 88: webhook check" })
    expect(mine[1]).toMatchObject({ id: `evt_${endedEvent!.id}`, data: { details: { endReason: "STOPPED" } } })
    const [sent] = await messagesFor(endpoint.id, startedEvent!.id)
    expect(sent).toMatchObject({ status: "SENT", attempts: 1, lastError: null })
    // The headers the worker sent.
    const first = headers.find((h) => h["acme-event-id"] === `evt_${startedEvent!.id}`)!
    expect(first["content-type"]).toBe("application/json")
    expect(first["acme-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)

    // The same signature over a changed body fails; over the body as sent it verifies.
    expect(verifySignature(first["acme-signature"], sent!.text, endpoint.secret)).toBe(true)
    const tampered = sent!.text.replace('"actorId":', '"actorId":1') // another actor
    expect(verifySignature(first["acme-signature"], tampered, endpoint.secret)).toBe(false)
    const replay = async (body: string) =>
      (
        await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "acme-signature": first["acme-signature"] as string },
          body,
        })
      ).status
    expect(await replay(tampered)).toBe(400)
    expect(await replay(sent!.text)).toBe(204)
  })

  it("a receiver answering 500 twice gets the event on the third try", async () => {
    serverConfig.outbox.retryBaseMs = 50
    const calls = new Map<string, number>()
    const server = await startServer((req, res) => {
      const id = String(req.headers["acme-event-id"])
      const n = (calls.get(id) ?? 0) + 1
      calls.set(id, n)
      res.statusCode = n <= 2 ? 500 : 204
      res.end()
    })
    closers.push(server.close)
    const endpoint = await addEndpoint(server.url)
    const { events } = await impersonationEvents()
    const eventId = `evt_${events[0]!.id}`
    const [message] = await messagesFor(endpoint.id, events[0]!.id)

    await runOutboxPass()
    const afterFirst = await db.outboxMessage.findUniqueOrThrow({ where: { id: message!.id } })
    expect(afterFirst).toMatchObject({ status: "PENDING", attempts: 1, lastError: "The endpoint answered HTTP 500" })
    expect(afterFirst.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now() - 1000)

    await passUntil(async () => (await db.outboxMessage.findUniqueOrThrow({ where: { id: message!.id } })).status !== "PENDING")
    expect(await db.outboxMessage.findUniqueOrThrow({ where: { id: message!.id } })).toMatchObject({
      status: "SENT",
      attempts: 3,
      lastError: null,
    })
    const tries = server.seen.filter((s) => s.headers["acme-event-id"] === eventId)
    expect(tries).toHaveLength(3)
    // Each attempt is the same body, each signed so that it verifies.
    for (const attempt of tries) {
      expect(attempt.body).toBe(message!.text)
      expect(verifySignature(attempt.headers["acme-signature"], attempt.body, endpoint.secret)).toBe(true)
    }
  })

  it("a receiver that never answers leaves the event dead after the last try, shown on the page with Retry", async () => {
    Object.assign(serverConfig.outbox, { retryBaseMs: 20, maxAttempts: 3 })
    serverConfig.webhooks.timeoutMs = 300
    const server = await startServer(() => {
      // accepts the request, never answers
    })
    closers.push(server.close)
    const endpoint = await addEndpoint(server.url, "Silent receiver")
    const { events } = await impersonationEvents()
    const [message] = await messagesFor(endpoint.id, events[0]!.id)

    await passUntil(async () => (await db.outboxMessage.findUniqueOrThrow({ where: { id: message!.id } })).status !== "PENDING")
    const dead = await db.outboxMessage.findUniqueOrThrow({ where: { id: message!.id } })
    expect(dead).toMatchObject({ status: "DEAD", attempts: 3, lastError: "No answer within 300 ms", sentAt: null })
    expect(server.seen.filter((s) => s.headers["acme-event-id"] === `evt_${events[0]!.id}`)).toHaveLength(3)
    // No more tries: a dead message is never claimed again.
    await runOutboxPass()
    expect((await db.outboxMessage.findUniqueOrThrow({ where: { id: message!.id } })).attempts).toBe(3)

    const page = await loadIntegrationsPage()
    const row = page.deliveries.find((d) => d.id === message!.id)
    expect(row).toMatchObject({
      status: "DEAD",
      attempts: 3,
      lastError: "No answer within 300 ms",
      type: "impersonation.started",
      endpoint: { id: endpoint.id, description: "Silent receiver", deleted: false },
    })
    expect(JSON.stringify(page)).not.toContain(endpoint.secret)

    // Only a SUPERADMIN may retry; then it is pending again, due now.
    const support = await signIn(await createUser({ label: "support", role: "SUPPORT" }))
    expect((await support.rpc("retryOutboxMessage", { id: message!.id })).error).toMatchObject({ name: "AuthorizationError" })
    expect((await db.outboxMessage.findUniqueOrThrow({ where: { id: message!.id } })).status).toBe("DEAD")
    expect((await superadmin.rpc("retryOutboxMessage", { id: message!.id })).error).toBeNull()
    const retried = await db.outboxMessage.findUniqueOrThrow({ where: { id: message!.id } })
    expect(retried).toMatchObject({ status: "PENDING", attempts: 0, lastError: null })
    expect(retried.nextAttemptAt!.getTime()).toBeLessThanOrEqual(Date.now())
    // A second press changes nothing more.
    expect((await superadmin.rpc("retryOutboxMessage", { id: message!.id })).error).toMatchObject({ name: "NotDeadError" })
  })

  it("the environment's endpoint (WEBHOOK_URL, WEBHOOK_SECRET) receives the events too, signed with its secret", async () => {
    const secret = "env-webhook-secret-0123456789"
    const server = await startServer((_req, res) => {
      res.statusCode = 200
      res.end("ok")
    })
    closers.push(server.close)
    serverConfig.webhooks.fromEnv = { url: server.url, secret }
    const { events } = await impersonationEvents()
    expect(await messagesFor(null, events[0]!.id)).toMatchObject([{ status: "PENDING", to: server.url, endpointId: null }])
    await passUntil(async () => (await messagesFor(null, events[0]!.id))[0]!.status === "SENT")
    const seen = server.seen.find((s) => s.headers["acme-event-id"] === `evt_${events[0]!.id}`)!
    expect(verifySignature(seen.headers["acme-signature"], seen.body, secret)).toBe(true)
    expect((await loadIntegrationsPage()).environmentEndpoint).toEqual({ url: server.url })
  })
})

describe("managing endpoints", () => {
  it("only a SUPERADMIN adds one; a bad URL is refused in words; the audit never holds the secret", async () => {
    const support = await signIn(await createUser({ label: "support", role: "SUPPORT" }))
    const before = await db.webhookEndpoint.count()
    const refused = await support.rpc("createWebhookEndpoint", { url: "https://hooks.example.com/a" })
    expect(refused.error).toMatchObject({ name: "AuthorizationError", message: "Only a super admin can manage integrations." })
    for (const url of ["ftp://hooks.example.com/a", "javascript:alert(1)", "https://user:pw@hooks.example.com/", "not a url"]) {
      const bad = await superadmin.rpc("createWebhookEndpoint", { url })
      expect(bad.error).toMatchObject({ name: "InputValidationError", message: expect.stringMatching(/URL/) })
    }
    expect(await db.webhookEndpoint.count()).toBe(before)

    const endpoint = await addEndpoint("https://hooks.example.com/acme", "Security team")
    expect(endpoint.secret).toMatch(/^whsec_/)
    const created = await db.auditEvent.findFirstOrThrow({ where: { action: "WEBHOOK_ENDPOINT_CHANGED" }, orderBy: { id: "desc" } })
    expect(created.details).toMatchObject({ change: "CREATED", endpointId: endpoint.id, url: "https://hooks.example.com/acme" })
    expect(JSON.stringify(created)).not.toContain(endpoint.secret)

    expect((await superadmin.rpc("setWebhookEndpointEnabled", { id: endpoint.id, enabled: false })).error).toBeNull()
    // A disabled endpoint is sent nothing new.
    const { events } = await impersonationEvents()
    expect(await messagesFor(endpoint.id, events[0]!.id)).toHaveLength(0)
    expect((await superadmin.rpc("setWebhookEndpointEnabled", { id: endpoint.id, enabled: true })).error).toBeNull()
    const again = await impersonationEvents()
    const pending = await messagesFor(endpoint.id, again.events[0]!.id)
    expect(pending).toHaveLength(1)

    // Deleted: off the page's list, and its undelivered messages are not sent.
    expect((await superadmin.rpc("deleteWebhookEndpoint", { id: endpoint.id })).error).toBeNull()
    expect((await loadIntegrationsPage()).endpoints.map((e) => e.id)).not.toContain(endpoint.id)
    await passUntil(async () => (await db.outboxMessage.findUniqueOrThrow({ where: { id: pending[0]!.id } })).status !== "PENDING")
    expect(await db.outboxMessage.findUniqueOrThrow({ where: { id: pending[0]!.id } })).toMatchObject({
      status: "DEAD",
      lastError: "The endpoint was deleted",
    })
    const changes = await db.auditEvent.findMany({
      where: { action: "WEBHOOK_ENDPOINT_CHANGED", details: { path: ["endpointId"], equals: endpoint.id } },
      orderBy: { id: "asc" },
    })
    expect(changes.map((e) => (e.details as { change: string }).change)).toEqual(["CREATED", "DISABLED", "ENABLED", "DELETED"])
    expect(changes.every((e) => e.actorId !== null)).toBe(true)
  })
})

import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { POST } from "app/api/rpc/[[...blitz]]/route"
import { PEER_ADDRESS_HEADER, peerAddressHeaderValue } from "app/core/clientAddress"
import { MAX_RPC_BODY_BYTES } from "app/core/rpcRoute"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createUser, rowCounts, uniqueTag } from "test/helpers/fixtures"

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("audit IP (TRUST_PROXY=0, the default)", () => {
  it("records the address the server saw, not the client's X-Forwarded-For", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = new TestBrowser()
    await browser.login(support.email, PASSWORD)
    const headers = {
      [PEER_ADDRESS_HEADER]: peerAddressHeaderValue("198.51.100.7"),
      "x-forwarded-for": "6.6.6.6",
      "x-real-ip": "6.6.6.7",
    }
    const started = await browser.rpc("impersonateUser", { userId: target.id, reason: "ip" }, { headers })
    expect(started.error).toBeNull()
    const events = await db.auditEvent.findMany({ where: { actorId: support.id, action: "IMPERSONATION_STARTED" } })
    expect(events.map((event) => event.ip)).toEqual(["198.51.100.7"])
  })
})

describe("request body limit", () => {
  it("stops reading a chunked body (no Content-Length) at the limit and answers 413", async () => {
    const chunk = new TextEncoder().encode(`{"params":{"email":"${"a".repeat(16 * 1024)}`)
    let pulled = 0
    // A 4 MiB upload, pulled chunk by chunk: how much was pulled shows when the server stopped.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 4 * 1024 * 1024) return controller.close()
        pulled += chunk.byteLength
        controller.enqueue(chunk)
      },
    })
    const request = new Request("http://localhost/api/rpc/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit)
    expect(request.headers.get("content-length")).toBeNull()
    const response = await POST(request, { params: Promise.resolve({ blitz: ["login"] }) })
    expect(response.status).toBe(413)
    expect(await response.json()).toMatchObject({ error: { name: "PayloadTooLargeError" } })
    // Refused early: at most the limit and the chunks already queued were read.
    expect(pulled).toBeLessThan(MAX_RPC_BODY_BYTES + 4 * chunk.byteLength)
  })
})

describe("input the database or the deserializer cannot take", () => {
  it("refuses NUL and lone surrogates in text fields with a 400, changing nothing", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = new TestBrowser()
    await browser.login(support.email, PASSWORD)
    const counts = await rowCounts()
    const email = `${uniqueTag("nul")}@fixture.example`
    const cases: Array<[string, Promise<{ error: { name: string; message: string; statusCode?: number } | null }>]> = [
      ["NUL in reason", browser.rpc("impersonateUser", { userId: target.id, reason: "a\u0000b" })],
      ["lone surrogate in reason", browser.rpc("impersonateUser", { userId: target.id, reason: "a\uD800b" })],
      ["NUL in name", new TestBrowser().rpc("signup", { name: "Eve\u0000", email, password: "long-enough-password" })],
      ["lone surrogate in name", new TestBrowser().rpc("signup", { name: "\uDC00", email, password: "long-enough-password" })],
      ["NUL in password", new TestBrowser().rpc("login", { email: support.email, password: "x\u0000" })],
    ]
    for (const [label, send] of cases) {
      const res = await send
      expect(res.error, label).toMatchObject({ name: "InputValidationError", statusCode: 400 })
      expect(res.error?.message, label).toMatch(/(reason|name|password): must not contain NUL characters or broken Unicode/)
    }
    expect(await rowCounts()).toEqual(counts)
    expect(await db.user.findUnique({ where: { email } })).toBeNull()
  })

  it("refuses superjson meta naming __proto__, constructor or prototype before deserialising", async () => {
    const user = await createUser({ label: "proto" })
    const counts = await rowCounts()
    for (const key of ["__proto__", "constructor", "prototype"]) {
      const browser = new TestBrowser()
      const body = JSON.stringify({
        params: { email: user.email, password: PASSWORD },
        meta: { params: { values: { [`${key}.polluted`]: ["undefined"] } } },
      })
      const res = await browser.rpcRaw("login", body)
      expect(res.status, key).toBe(400)
      expect(res.error, key).toMatchObject({ name: "BadRequestError", message: "The request metadata names a forbidden key" })
      expect(browser.cookies.size, key).toBe(0)
    }
    expect(await rowCounts()).toEqual(counts)
  })
  it("refuses bodies superjson cannot read, too deep, or not an object with 400, never 500", async () => {
    const user = await createUser({ label: "hostile" })
    const counts = await rowCounts()
    const login = { email: user.email, password: PASSWORD }
    const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels)
    // What a reviewer sent against a running server; each answered 500 before.
    const bodies: Record<string, string> = {
      "class annotation": JSON.stringify({ params: login, meta: { params: { values: { email: ["class", "Foo"] } } } }),
      "custom annotation": JSON.stringify({ params: login, meta: { params: { values: { email: ["custom", "x"] } } } }),
      "annotation on the root": JSON.stringify({ params: login, meta: { params: { values: "Date" } } }),
      "bad regexp": JSON.stringify({ params: "(a+", meta: { params: { values: ["regexp"] } } }),
      "bad bigint": JSON.stringify({ params: { ...login, email: "1e999999" }, meta: { params: { values: { email: ["bigint"] } } } }),
      "deep params": `{"params":{"email":"x@example.com","password":"y","deep":${deep(20_000)}},"meta":{}}`,
      "deep meta": `{"params":{"email":"x@example.com","password":"y"},"meta":${deep(20_000)}}`,
      "null body": "null",
      "array body": "[1,2]",
      "no params": JSON.stringify({ meta: {} }),
    }
    for (const [label, body] of Object.entries(bodies)) {
      const browser = new TestBrowser()
      const res = await browser.rpcRaw("login", body)
      expect(res.status, label).toBe(400)
      expect(res.error?.name, label).toBe("BadRequestError")
      expect(res.error?.message, label).toMatch(/params key|nested too deeply|cannot be read/)
      expect(browser.cookies.size, label).toBe(0)
    }
    expect(await rowCounts()).toEqual(counts)
  })
})

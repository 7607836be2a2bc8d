import http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PEER_ADDRESS_HEADER } from "./clientAddress"
import { createEdgeServer } from "./edgeServer"
import { requestMetaFromHeaders } from "./requestContext"

// A real server on a real socket: only that shows which address the audit would record.
const server = createEdgeServer((req, res) => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) headers.set(name, String(value))
  res.setHeader("content-type", "application/json")
  res.end(JSON.stringify(requestMetaFromHeaders(headers)))
})
let port = 0

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(Number(process.env.EDGE_TEST_PORT ?? 0), "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

function get(headers: Record<string, string>) {
  return new Promise<{ body: { ip: string | null; requestId: string }; requestId: string }>(
    (resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path: "/", headers }, (res) => {
          let text = ""
          res.on("data", (chunk: Buffer) => (text += chunk.toString()))
          res.on("end", () => resolve({ body: JSON.parse(text), requestId: String(res.headers["x-request-id"]) }))
        })
        .on("error", reject)
    },
  )
}

describe("the edge server", () => {
  it("records the socket address, whatever X-Forwarded-For or its own header claim", async () => {
    const forged = await get({
      "x-forwarded-for": "6.6.6.6",
      "x-real-ip": "6.6.6.7",
      [PEER_ADDRESS_HEADER]: "6.6.6.8",
    })
    expect(forged.body.ip).toBe("127.0.0.1")
  })

  it("gives every request its own id, ignoring one the client sent", async () => {
    const first = await get({ "x-request-id": "chosen-by-client" })
    const second = await get({})
    expect(first.body.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(first.requestId).toBe(first.body.requestId)
    expect(second.body.requestId).not.toBe(first.body.requestId)
  })
})

import { Client } from "pg"
import { describe, expect, it } from "vitest"
import { engine } from "db"
import { FrontendParser, startCountingProxy } from "test/bench/wireCounter"

/** `npm run bench` counts SQL statements on PostgreSQL's wire: what it counts must be exact. */

function message(type: string, payload: Buffer) {
  const header = Buffer.alloc(5)
  header.write(type, 0, "latin1")
  header.writeInt32BE(payload.length + 4, 1)
  return Buffer.concat([header, payload])
}

function startup(code: number, rest = Buffer.alloc(0)) {
  const packet = Buffer.alloc(8)
  packet.writeInt32BE(8 + rest.length, 0)
  packet.writeInt32BE(code, 4)
  return Buffer.concat([packet, rest])
}

const cstring = (text: string) => Buffer.from(`${text}\0`, "utf8")

describe("FrontendParser", () => {
  // An SSLRequest (refused), the startup message, then: a simple query, an extended-protocol
  // statement (Parse, Bind, Describe, Execute, Sync), a password message and a Terminate.
  const stream = Buffer.concat([
    startup(80877103),
    startup(196608, Buffer.concat([cstring("user"), cstring("postgres"), Buffer.from([0])])),
    message("p", cstring("secret")),
    message("Q", cstring("SELECT 1")),
    message("P", Buffer.concat([cstring(""), cstring("SELECT $1::int"), Buffer.from([0, 0])])),
    message("B", Buffer.alloc(10)),
    message("D", Buffer.concat([Buffer.from("P"), cstring("")])),
    message("E", Buffer.concat([cstring(""), Buffer.alloc(4)])),
    message("S", Buffer.alloc(0)),
    // Type bytes inside a payload are not messages: a query whose text holds "E" and "Q".
    message("Q", cstring("SELECT 'EQEQ'")),
    message("X", Buffer.alloc(0)),
  ])

  it("counts Query and Execute messages only, past the SSLRequest and the startup packet", () => {
    const parser = new FrontendParser()
    parser.push(stream)
    expect(parser.counts).toEqual({ query: 2, execute: 1 })
  })

  it("counts the same however the bytes are split", () => {
    for (const size of [1, 2, 3, 7, 13]) {
      const parser = new FrontendParser()
      for (let at = 0; at < stream.length; at += size) parser.push(stream.subarray(at, at + size))
      expect(parser.counts, `chunks of ${size}`).toEqual({ query: 2, execute: 1 })
    }
  })
})

describe.skipIf(engine.kind !== "postgres")("the counting proxy in front of PostgreSQL", () => {
  it("counts what pg sends: simple queries, parameterized statements, a transaction", async () => {
    const url = new URL(process.env.DATABASE_URL!)
    const proxy = await startCountingProxy({ host: url.hostname, port: Number(url.port || 5432) })
    const client = new Client({ connectionString: proxy.urlFor(url.toString()) })
    try {
      await client.connect()
      const before = proxy.counts()
      proxy.beginTrace()
      await client.query("SELECT 1")
      await client.query("SELECT $1::int AS n", [2])
      await client.query("BEGIN")
      await client.query("SELECT $1::text", ["in a transaction"])
      await client.query("COMMIT")
      // What --sql prints: each counted statement's text, a parameterized one from its Parse.
      expect(proxy.endTrace()).toEqual(["SELECT 1", "SELECT $1::int AS n", "BEGIN", "SELECT $1::text", "COMMIT"])
      const after = proxy.counts()
      expect({ query: after.query - before.query, execute: after.execute - before.execute }).toEqual({ query: 3, execute: 2 })
      // The answers came back through the proxy untouched.
      expect((await client.query<{ n: number }>("SELECT $1::int AS n", [42])).rows).toEqual([{ n: 42 }])
      expect(proxy.total() - (before.query + before.execute)).toBe(6)
    } finally {
      await client.end()
      await proxy.close()
    }
  })
})

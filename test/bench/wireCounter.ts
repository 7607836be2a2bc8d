import net from "node:net"

/**
 * Counts the SQL statements clients send to PostgreSQL, from the wire: a TCP proxy that reads
 * the frontend protocol and counts Query ('Q', simple protocol: one per statement string sent)
 * and Execute ('E', extended protocol: one per bound statement run). Everything else (Parse,
 * Bind, Describe, Sync, the startup packet, SSLRequest/GSSENCRequest/CancelRequest, which have
 * no type byte) passes uncounted. Server replies are piped back untouched.
 */

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102

export type StatementCounts = { query: number; execute: number }

function cstrings(payload: Buffer, count: number): string[] {
  const out: string[] = []
  let at = 0
  for (let i = 0; i < count; i++) {
    const end = payload.indexOf(0, at)
    out.push(payload.toString("utf8", at, end))
    at = end + 1
  }
  return out
}

/** Parses one connection's frontend bytes as they arrive, in whatever chunks. */
export class FrontendParser {
  private buffer: Buffer = Buffer.alloc(0)
  private awaitingStartup = true
  readonly counts: StatementCounts = { query: 0, execute: 0 }
  /** The connection's `application_name` from its startup message ("" when it sent none). */
  application = ""
  /** With `onStatement`, each counted statement's SQL text (Parse text for an Execute). */
  private statements = new Map<string, string>()
  private portals = new Map<string, string>()
  constructor(private onStatement?: (sql: string) => void) {}

  push(chunk: Buffer) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk
    for (;;) {
      if (this.awaitingStartup) {
        // Int32 length (itself included), Int32 code: a startup message or a negotiation request.
        if (this.buffer.length < 8) return
        const length = this.buffer.readInt32BE(0)
        if (this.buffer.length < length) return
        const code = this.buffer.readInt32BE(4)
        // After an SSL/GSS request is refused ('N'), the client sends its startup message.
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST && code !== CANCEL_REQUEST) {
          this.awaitingStartup = false
          // Startup parameters: name\0value\0 pairs after the protocol version.
          const parameters = this.buffer.toString("utf8", 8, length).split("\0")
          const at = parameters.indexOf("application_name")
          if (at >= 0 && at % 2 === 0) this.application = parameters[at + 1] ?? ""
        }
        this.buffer = this.buffer.subarray(length)
        continue
      }
      // Byte1 type, Int32 length (itself included, not the type byte).
      if (this.buffer.length < 5) return
      const length = this.buffer.readInt32BE(1)
      if (this.buffer.length < 1 + length) return
      const type = this.buffer[0]
      if (type === 0x51) this.counts.query++ // 'Q'
      else if (type === 0x45) this.counts.execute++ // 'E'
      if (this.onStatement) this.trace(type!, this.buffer.subarray(5, 1 + length))
      this.buffer = this.buffer.subarray(1 + length)
    }
  }

  private trace(type: number, payload: Buffer) {
    if (type === 0x50) {
      const [name = "", sql = ""] = cstrings(payload, 2) // Parse: statement name, query text
      this.statements.set(name, sql)
    } else if (type === 0x42) {
      const [portal = "", statement = ""] = cstrings(payload, 2) // Bind: portal, statement name
      this.portals.set(portal, this.statements.get(statement) ?? `(prepared statement "${statement}")`)
    } else if (type === 0x45) {
      this.onStatement!(this.portals.get(cstrings(payload, 1)[0] ?? "") ?? "(unknown portal)")
    } else if (type === 0x51) {
      this.onStatement!(cstrings(payload, 1)[0] ?? "")
    }
  }
}

export type CountingProxy = {
  /** postgres:// URL that goes through the proxy to the same database. */
  urlFor(databaseUrl: string): string
  port: number
  /** Statements so far, over every connection that went through (but those of `except`, an application_name). */
  total(except?: string): number
  /** Statements so far of the connections named `application` (application_name). */
  totalOf(application: string): number
  counts(): StatementCounts
  /** Records the SQL text of every statement from now until `endTrace`. */
  beginTrace(): void
  endTrace(): string[]
  close(): Promise<void>
}

/** Starts a counting proxy on 127.0.0.1:`port` (0: any) in front of `target` host:port. */
export async function startCountingProxy(target: { host: string; port: number }, port = 0): Promise<CountingProxy> {
  const parsers = new Set<FrontendParser>()
  const closed: StatementCounts = { query: 0, execute: 0 }
  const closedByApplication = new Map<string, number>()
  const sockets = new Set<net.Socket>()
  let trace: string[] | null = null
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host)
    const parser = new FrontendParser((sql) => trace?.push(sql))
    parsers.add(parser)
    sockets.add(client).add(upstream)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    client.on("data", (chunk: Buffer) => {
      parser.push(chunk)
      upstream.write(chunk)
    })
    upstream.on("data", (chunk: Buffer) => client.write(chunk))
    const end = () => {
      if (parsers.delete(parser)) {
        closed.query += parser.counts.query
        closed.execute += parser.counts.execute
        const name = parser.application
        closedByApplication.set(name, (closedByApplication.get(name) ?? 0) + parser.counts.query + parser.counts.execute)
      }
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on("close", end).on("error", end)
    upstream.on("close", end).on("error", end)
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  const actualPort = (server.address() as net.AddressInfo).port
  const totalOf = (application: string): number => {
    let sum = closedByApplication.get(application) ?? 0
    for (const parser of parsers) {
      if (parser.application === application) sum += parser.counts.query + parser.counts.execute
    }
    return sum
  }
  const counts = (): StatementCounts => {
    const sum = { ...closed }
    for (const parser of parsers) {
      sum.query += parser.counts.query
      sum.execute += parser.counts.execute
    }
    return sum
  }
  return {
    port: actualPort,
    urlFor(databaseUrl) {
      const url = new URL(databaseUrl)
      url.hostname = "127.0.0.1"
      url.port = String(actualPort)
      url.searchParams.set("sslmode", "disable")
      return url.toString()
    },
    counts,
    beginTrace() {
      trace = []
    },
    endTrace() {
      const traced = trace ?? []
      trace = null
      return traced
    },
    total(except) {
      const c = counts()
      return c.query + c.execute - (except === undefined ? 0 : totalOf(except))
    },
    totalOf,
    close() {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

import { SMTPServer } from "smtp-server"

/** A real SMTP server on a loopback port that keeps what it receives, for mail tests. */

export type Received = { from: string; to: string[]; raw: string }

export async function startSmtpServer(
  options: {
    /** Called as a client connects, before it may send anything (e.g. to kill the sender). */
    onConnect?: () => void | Promise<void>
    /** Holds each message this long before accepting it. */
    acceptDelayMs?: number
  } = {},
) {
  const received: Received[] = []
  let connections = 0
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onConnect(_session, callback) {
      connections++
      Promise.resolve(options.onConnect?.()).then(() => callback(), callback)
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        })
        if (options.acceptDelayMs) setTimeout(() => callback(), options.acceptDelayMs)
        else callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.server.address() as { port: number }).port
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

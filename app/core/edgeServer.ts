import { randomUUID } from "node:crypto"
import http from "node:http"
import { PEER_ADDRESS_HEADER, REQUEST_ID_HEADER, peerAddressHeaderValue } from "./clientAddress"

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void

/**
 * The HTTP server in front of Next. App Router code cannot see the socket (and `next start`
 * keeps a client's own X-Forwarded-For), so the peer address is passed on in a header that
 * only this server sets; every request also gets a fresh id for its log lines.
 */
export function createEdgeServer(handle: Handler): http.Server {
  return http.createServer((req, res) => {
    req.headers[PEER_ADDRESS_HEADER] = peerAddressHeaderValue(req.socket.remoteAddress ?? "")
    const requestId = randomUUID()
    req.headers[REQUEST_ID_HEADER] = requestId
    res.setHeader(REQUEST_ID_HEADER, requestId)
    Promise.resolve(handle(req, res)).catch((error: unknown) => {
      console.error(error)
      if (!res.headersSent) res.statusCode = 500
      res.end()
    })
  })
}

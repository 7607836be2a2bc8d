import { randomBytes, timingSafeEqual } from "node:crypto"
import { isIP } from "node:net"

/**
 * Set by the app's own server (server.ts) from the socket's remote address, replacing any
 * incoming header of this name. Its value carries a secret of this process, so a header that
 * a client sends where no such server runs (`next start`, `next dev`) is never believed.
 */
export const PEER_ADDRESS_HEADER = "x-app-peer-address"

// Shared through the environment: server.ts and the Next.js bundle run in one process.
function processToken(): string {
  return (process.env.APP_PEER_ADDRESS_TOKEN ??= randomBytes(32).toString("hex"))
}

/** The header value server.ts sets for the peer `address`. */
export function peerAddressHeaderValue(address: string): string {
  return `${processToken()} ${address}`
}

function peerAddress(value: string | null): string | null {
  const space = value?.indexOf(" ") ?? -1
  if (!value || space < 0) return null
  const given = Buffer.from(value.slice(0, space))
  const expected = Buffer.from(processToken())
  return given.length === expected.length && timingSafeEqual(given, expected) ? value.slice(space + 1) : null
}

/** Set by server.ts on every request, so each log line of one request shares an id. */
export const REQUEST_ID_HEADER = "x-request-id"

function validAddress(value: string | undefined): string | null {
  const address = value?.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "")
  return address && isIP(address) ? address : null
}

/**
 * The client's address for the audit log. With no trusted proxy (0) it is the address the
 * server itself saw; behind `trustProxy` proxies it is the X-Forwarded-For entry that many
 * hops from the right (each proxy appends the address it saw; entries to its left are the
 * client's own claim). A malformed or missing entry gives null, never a guess.
 */
export function clientAddress(headers: Headers, trustProxy: number): string | null {
  const peer = validAddress(peerAddress(headers.get(PEER_ADDRESS_HEADER)) ?? undefined)
  if (trustProxy === 0) return peer
  const forwarded = (headers.get("x-forwarded-for") ?? "").split(",").filter((e) => e.trim())
  if (forwarded.length < trustProxy) return null
  return validAddress(forwarded[forwarded.length - trustProxy])
}

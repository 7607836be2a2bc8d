import { describe, expect, it } from "vitest"
import { PEER_ADDRESS_HEADER, clientAddress, peerAddressHeaderValue } from "./clientAddress"

function headers(forwardedFor?: string, peer = "10.0.0.9") {
  const h = new Headers({ [PEER_ADDRESS_HEADER]: peerAddressHeaderValue(peer) })
  if (forwardedFor !== undefined) h.set("x-forwarded-for", forwardedFor)
  return h
}

describe("clientAddress", () => {
  it("with no trusted proxy (0) uses the socket address and ignores X-Forwarded-For", () => {
    expect(clientAddress(headers("6.6.6.6"), 0)).toBe("10.0.0.9")
    expect(clientAddress(headers(undefined, "::ffff:127.0.0.1"), 0)).toBe("127.0.0.1")
    expect(clientAddress(headers(undefined, "::1"), 0)).toBe("::1")
  })

  it("with one trusted proxy takes the rightmost entry, not the client's claim on the left", () => {
    expect(clientAddress(headers("6.6.6.6, 203.0.113.7"), 1)).toBe("203.0.113.7")
    expect(clientAddress(headers("203.0.113.7"), 1)).toBe("203.0.113.7")
  })

  it("with two trusted proxies takes the second entry from the right", () => {
    expect(clientAddress(headers("6.6.6.6, 203.0.113.7, 10.1.1.1"), 2)).toBe("203.0.113.7")
    expect(clientAddress(headers("2001:db8::1,10.1.1.1"), 2)).toBe("2001:db8::1")
  })

  it("never believes a peer header without this process's token (a client's own, under next start)", () => {
    expect(clientAddress(new Headers({ [PEER_ADDRESS_HEADER]: "6.6.6.6" }), 0)).toBeNull()
    expect(clientAddress(new Headers({ [PEER_ADDRESS_HEADER]: "guessed-token 6.6.6.6" }), 0)).toBeNull()
    const withOtherToken = `${"0".repeat(64)} 6.6.6.6`
    expect(clientAddress(new Headers({ [PEER_ADDRESS_HEADER]: withOtherToken }), 0)).toBeNull()
  })

  it("gives null for missing, short or malformed headers", () => {
    expect(clientAddress(new Headers(), 0)).toBeNull()
    expect(clientAddress(headers(undefined, "not-an-ip"), 0)).toBeNull()
    expect(clientAddress(headers(undefined), 1)).toBeNull()
    expect(clientAddress(headers(""), 1)).toBeNull()
    expect(clientAddress(headers(" , ,"), 1)).toBeNull()
    expect(clientAddress(headers("10.1.1.1"), 2)).toBeNull()
    expect(clientAddress(headers("6.6.6.6, <script>"), 1)).toBeNull()
    expect(clientAddress(headers("6.6.6.6, 203.0.113.7:4711"), 1)).toBeNull()
    expect(clientAddress(headers(`${"1".repeat(5000)}, 203.0.113.7`), 1)).toBe("203.0.113.7")
  })
})

import { AsyncLocalStorage } from "node:async_hooks"
import { randomUUID } from "node:crypto"
import type { SessionRead } from "app/impersonation/guard"
import { REQUEST_ID_HEADER, clientAddress } from "./clientAddress"
import { serverConfig } from "./serverConfig"

/**
 * Who sent the request being served, for the audit log and the logs (set per request); its
 * raw Cookie header, and the Set-Cookie values a resolver adds (the RPC route sends them).
 */
export type RequestMeta = {
  ip: string | null
  userAgent: string | null
  requestId: string | null
  cookieHeader: string | null
  responseCookies: string[]
  /** The app's public origin as this request reached it, for links the app hands out. */
  origin: string | null
  /**
   * What the impersonation guard read of this request's session, for the RPC gate and resolvers
   * to reuse (app/impersonation/guard.ts `sessionForRequest`); null once the session changes.
   */
  session?: { handle: string; read: SessionRead | null } | null
  /** The request's session cookie names a session this process replaced a moment ago. */
  sessionReplaced?: boolean
  /** The impersonation this request started (its session row takes its end from it). */
  startedImpersonation?: { id: number; expiresAt: Date } | null
  /** Set when a resolver failed because the database cannot be reached: the answer is a 503. */
  databaseUnreachable?: boolean
}

// One store per process, shared by every bundled copy of this module (see db/scope.ts).
const storage = ((globalThis as { __requestMetaStorage?: AsyncLocalStorage<RequestMeta> }).__requestMetaStorage ??=
  new AsyncLocalStorage<RequestMeta>())

const HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i

/**
 * APP_ORIGIN when set; otherwise the Host the request was sent to, over https only where a
 * trusted proxy says so (server.ts itself speaks plain http). A malformed Host gives null.
 */
export function requestOrigin(headers: Headers): string | null {
  if (serverConfig.http.appOrigin) return serverConfig.http.appOrigin
  const host = headers.get("host")
  if (!host || !HOST.test(host)) return null
  const forwardedProto = headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase()
  const https = serverConfig.http.trustProxy > 0 && forwardedProto === "https"
  return `${https ? "https" : "http"}://${host.toLowerCase()}`
}

export function requestMetaFromHeaders(headers: Headers): RequestMeta {
  const requestId = headers.get(REQUEST_ID_HEADER)
  return {
    ip: clientAddress(headers, serverConfig.http.trustProxy),
    userAgent: headers.get("user-agent")?.slice(0, 512) ?? null,
    // server.ts sets the id; without it (next dev, tests) each request gets its own here.
    requestId: requestId && /^[\w-]{1,64}$/.test(requestId) ? requestId : randomUUID(),
    cookieHeader: headers.get("cookie"),
    responseCookies: [],
    origin: requestOrigin(headers),
  }
}

export function runWithRequestMeta<T>(meta: RequestMeta, fn: () => T): T {
  return storage.run(meta, fn)
}

export function currentRequestMeta(): RequestMeta {
  return storage.getStore() ?? { ip: null, userAgent: null, requestId: null, cookieHeader: null, responseCookies: [], origin: null }
}

/** One cookie of the request being served, or null. */
export function requestCookie(name: string): string | null {
  for (const pair of currentRequestMeta().cookieHeader?.split(";") ?? []) {
    const eq = pair.indexOf("=")
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return null
}

import { getSession, type SessionContext } from "@blitzjs/auth"
import { cookiePrefix } from "blitz.config"
import { requestSessionReplaced, rotateReturnedSession } from "app/impersonation/guard"
import { REQUEST_ID_HEADER } from "./clientAddress"
import { readBodyText } from "./readBody"
import { currentRequestMeta } from "./requestContext"

/**
 * What every route handler that takes JSON and a Blitz session shares: the RPC route
 * (app/core/rpcRoute.ts) and the JSON API routes (app/api/actor-tokens). Each answers a
 * problem in its own JSON error shape.
 */

/** A request refused before the handler ran, with its HTTP status and words for the client. */
export type RouteProblem = { status: number; name: string; message: string }

/** A Content-Length above the limit is refused before anything is read. */
export function declaresTooLargeBody(request: Request, limitBytes: number): boolean {
  return Number(request.headers.get("content-length") ?? 0) > limitBytes
}

/**
 * Reads a JSON request body within `limitBytes` (streamed, so a chunked body cannot get past
 * it). Only `application/json` is taken: browsers cannot send it cross-site without a CORS
 * preflight (which these routes never grant), so a cookieless request, which Blitz lets
 * through without the anti-CSRF header, still cannot be forged from another site.
 */
export async function readJsonBody(
  request: Request,
  limitBytes: number,
): Promise<{ ok: true; text: string; value: unknown } | { ok: false; problem: RouteProblem }> {
  const refuse = (status: number, name: string, message: string) => ({ ok: false as const, problem: { status, name, message } })
  if (declaresTooLargeBody(request, limitBytes)) return refuse(413, "PayloadTooLargeError", "The request body is too large")
  if (!request.headers.get("content-type")?.toLowerCase().startsWith("application/json")) {
    return refuse(415, "UnsupportedMediaTypeError", "Send the request body as application/json")
  }
  const text = await readBodyText(request, limitBytes)
  if (text === null) return refuse(413, "PayloadTooLargeError", "The request body is too large")
  try {
    return { ok: true, text, value: JSON.parse(text) as unknown }
  } catch {
    return refuse(400, "BadRequestError", "The request body must be JSON")
  }
}

/**
 * The request's Blitz session, read through the impersonation guard; Blitz checks the
 * anti-CSRF header on every non-GET request that carries session cookies. A handed-back
 * session is rotated only by a POST that passed that check.
 */
export async function resolveRouteSession(request: Request): Promise<SessionContext> {
  const session = await getSession(request)
  if (request.method === "POST") await rotateReturnedSession(session)
  return session
}

/** Clears an unreadable session cookie, which would otherwise lock the browser out. */
export const CLEAR_SESSION_COOKIE = `${cookiePrefix}_sSessionToken=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax`

/**
 * The session failures Blitz throws (and would leave as a 500): a missing or wrong anti-CSRF
 * header (403) and an unreadable session token (401, answer with CLEAR_SESSION_COOKIE).
 */
export function sessionProblem(error: unknown): (RouteProblem & { clearSessionCookie: boolean }) | null {
  const name = (error as Error)?.name
  if (name === "CSRFTokenMismatchError") {
    const message = "The anti-CSRF token is missing or does not match; reload the page"
    return { status: 403, name, message, clearSessionCookie: false }
  }
  if (name === "AuthenticationError") {
    return { status: 401, name, message: "The session cookie is invalid; sign in again", clearSessionCookie: true }
  }
  return null
}

/** Splits a comma-joined Set-Cookie value; commas inside `Expires=` dates are not separators. */
export function splitSetCookie(value: string): string[] {
  return value
    .split(/,(?=\s*[^=;,\s]+=)/)
    .map((cookie) => cookie.trim())
    .filter((cookie) => cookie !== "" && cookie !== "null")
}

/**
 * Adds the session's cookies (and those a handler queued on the request) to the response.
 * Blitz appends its cookies comma-joined (and twice in the RPC route: once from its handler,
 * once here), a literal `set-cookie: null`, and answers JSON as text/plain: tidied, one
 * Set-Cookie per cookie, the request id attached.
 */
export function sendWithSession(session: SessionContext, response: Response): Response {
  // A request of another tab that came with a session replaced meanwhile (see guard.ts
  // `sessionConsumed`) is answered as signed out, and leaves the browser's new cookies alone.
  const leaveCookies = requestSessionReplaced() && session.userId == null
  if (leaveCookies) response.headers.delete("set-cookie")
  else (session as SessionContext & { setSession(response: Response): void }).setSession(response)
  if (!leaveCookies) for (const cookie of currentRequestMeta().responseCookies) response.headers.append("set-cookie", cookie)
  const headers = new Headers()
  const cookies = new Map<string, string>()
  for (const [key, value] of response.headers) {
    if (key === "set-cookie") continue
    headers.append(key, value)
  }
  for (const joined of response.headers.getSetCookie()) {
    for (const cookie of splitSetCookie(joined)) cookies.set(cookie.split("=")[0]!, cookie)
  }
  for (const cookie of cookies.values()) headers.append("set-cookie", cookie)
  const { requestId } = currentRequestMeta()
  if (requestId) headers.set(REQUEST_ID_HEADER, requestId)
  if (!headers.get("content-type")?.includes("json")) {
    headers.set("content-type", "application/json; charset=utf-8")
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
}

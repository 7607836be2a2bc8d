import { NextResponse, type NextRequest } from "next/server"
import { cookiePrefix } from "blitz.config"

const SESSION_COOKIES = [`${cookiePrefix}_sSessionToken`, `${cookiePrefix}_sPublicDataToken`]

/** Blitz's own parse of a session token (`parseSessionToken`), which throws on anything else. */
function isReadableSessionToken(token: string) {
  const parts = Buffer.from(token, "base64").toString().split(";")
  return parts.length >= 4 && parts.slice(0, 4).every(Boolean)
}

/**
 * Session cookies a page could only fail on: an unreadable token, or one without its anti-CSRF
 * cookie (e.g. shadowed by a cookie planted from a sibling subdomain). Cleared, so the person
 * is signed out instead of locked out.
 */
function unusableSessionCookies(request: NextRequest): string[] {
  const token = request.cookies.get(SESSION_COOKIES[0]!)?.value
  if (!token) return []
  const hasAntiCsrf = Boolean(request.cookies.get(`${cookiePrefix}_sAntiCsrfToken`)?.value)
  return isReadableSessionToken(token) && hasAntiCsrf ? [] : SESSION_COOKIES
}

/** Unusable session cookies cleared before a page renders. */
export function proxy(request: NextRequest) {
  const requestHeaders = new Headers(request.headers)

  const unusable = unusableSessionCookies(request)
  for (const name of unusable) request.cookies.delete(name)
  if (unusable.length) requestHeaders.set("cookie", request.cookies.toString())

  const response = NextResponse.next({ request: { headers: requestHeaders } })
  for (const name of unusable) response.cookies.set(name, "", { path: "/", expires: new Date(0) })
  return response
}

export const config = {
  // Not /api: Next would buffer (and past 10 MB silently cut) every request body for a proxy,
  // and the RPC route handles bad cookies itself.
  matcher: [{ source: "/((?!api/|_next/static|_next/image|favicon.ico).*)" }],
}

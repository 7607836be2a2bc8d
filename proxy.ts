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

function contentSecurityPolicy(nonce: string) {
  const dev = process.env.NODE_ENV !== "production"
  return [
    "default-src 'self'",
    // Next puts this nonce on its own scripts; 'strict-dynamic' lets them load the chunks.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ")
}

/** A page's CSP with a fresh script nonce; unusable session cookies cleared. */
export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.randomUUID()).toString("base64")
  const csp = contentSecurityPolicy(nonce)
  const requestHeaders = new Headers(request.headers)
  requestHeaders.set("content-security-policy", csp)

  const unusable = unusableSessionCookies(request)
  for (const name of unusable) request.cookies.delete(name)
  if (unusable.length) requestHeaders.set("cookie", request.cookies.toString())

  const response = NextResponse.next({ request: { headers: requestHeaders } })
  for (const name of unusable) response.cookies.set(name, "", { path: "/", expires: new Date(0) })
  // The other security headers, the same for every route, are in next.config.ts.
  response.headers.set("content-security-policy", csp)
  // Where Blitz's cookies are Secure (read at run time, not baked in at build), HTTPS is in use.
  if (process.env.NODE_ENV === "production" && process.env.DISABLE_SECURE_COOKIES !== "true") {
    response.headers.set("strict-transport-security", "max-age=31536000")
  }
  return response
}

export const config = {
  // Not /api: Next would buffer (and past 10 MB silently cut) every request body for a proxy,
  // and the RPC route needs no nonce and handles bad cookies itself.
  matcher: [{ source: "/((?!api/|_next/static|_next/image|favicon.ico).*)" }],
}

import crypto from "node:crypto"
import { cookiePrefix } from "blitz.config"
import { currentRequestMeta, requestCookie } from "app/core/requestContext"
import { serverConfig } from "app/core/serverConfig"

/**
 * OWASP "device cookies": a browser that signed in successfully as an email carries a signed
 * cookie saying so, and its sign-ins for that email are throttled on their own key, so a flood
 * of wrong passwords against the email cannot lock its owner out of their own browser.
 */
export const KNOWN_DEVICE_COOKIE = `${cookiePrefix}_knownDevice`
export const KNOWN_DEVICE_MAX_AGE_SECONDS = 180 * 24 * 60 * 60

// The session key, as Blitz reads it; serverConfig refuses production without one.
function deviceKey(): string {
  const key = process.env.SESSION_SECRET_KEY
  if (key) return key
  if (process.env.NODE_ENV === "production") throw new Error("SESSION_SECRET_KEY is not set")
  return "default-dev-secret"
}

function mac(email: string): Buffer {
  return crypto.createHmac("sha256", deviceKey()).update(`known-device:${email}`).digest()
}

export function knownDeviceCookieValue(email: string): string {
  return `${Buffer.from(email).toString("base64url")}.${mac(email).toString("base64url")}`
}

/** The email a cookie value proves a sign-in for, or null when it is missing or forged. */
export function knownDeviceEmail(value: string | null): string | null {
  const [encoded, signature, ...rest] = value?.split(".") ?? []
  if (!encoded || !signature || rest.length) return null
  const email = Buffer.from(encoded, "base64url").toString("utf8")
  const given = Buffer.from(signature, "base64url")
  const expected = mac(email)
  return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? email : null
}

/** Whether the request being served comes from a browser that signed in as this email before. */
export function isKnownDevice(email: string): boolean {
  return knownDeviceEmail(requestCookie(KNOWN_DEVICE_COOKIE)) === email
}

/** After a successful sign-in: the response marks this browser as known for the email. */
export function rememberKnownDevice(email: string) {
  const secure = serverConfig.secureCookies ? "; Secure" : ""
  currentRequestMeta().responseCookies.push(
    `${KNOWN_DEVICE_COOKIE}=${knownDeviceCookieValue(email)}; Path=/; Max-Age=${KNOWN_DEVICE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax${secure}`,
  )
}

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

function mac(email: string, deviceId: string): Buffer {
  return crypto.createHmac("sha256", deviceKey()).update(`known-device:${email}\n${deviceId}`).digest()
}

/** `email.deviceId.signature`: each browser has its own id, so each has its own throttle budget. */
export function knownDeviceCookieValue(email: string, deviceId: string): string {
  const signature = mac(email, deviceId).toString("base64url")
  return `${Buffer.from(email).toString("base64url")}.${deviceId}.${signature}`
}

/** The email and browser id a cookie value proves a sign-in for, or null when missing or forged. */
export function parseKnownDevice(value: string | null): { email: string; deviceId: string } | null {
  const [encoded, deviceId, signature, ...rest] = value?.split(".") ?? []
  if (!encoded || !deviceId || !signature || rest.length || !/^[\w-]{16,64}$/.test(deviceId)) return null
  const email = Buffer.from(encoded, "base64url").toString("utf8")
  const given = Buffer.from(signature, "base64url")
  const expected = mac(email, deviceId)
  return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? { email, deviceId } : null
}

/** The id of this request's browser if it signed in as this email before, else null. */
export function knownDeviceId(email: string): string | null {
  const device = parseKnownDevice(requestCookie(KNOWN_DEVICE_COOKIE))
  return device?.email === email ? device.deviceId : null
}

/** After a successful sign-in: the response marks this browser as known for the email. */
export function rememberKnownDevice(email: string) {
  const deviceId = knownDeviceId(email) ?? crypto.randomBytes(16).toString("base64url")
  const secure = serverConfig.secureCookies ? "; Secure" : ""
  currentRequestMeta().responseCookies.push(
    `${KNOWN_DEVICE_COOKIE}=${knownDeviceCookieValue(email, deviceId)}; Path=/; Max-Age=${KNOWN_DEVICE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax${secure}`,
  )
}

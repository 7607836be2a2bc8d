import { describe, expect, it } from "vitest"
import { demoModeFromEnv, loadServerConfig } from "blitz.config"

const SECRET = "x".repeat(32)

describe("loadServerConfig: accounts settings", () => {
  it("refuses production without SESSION_SECRET_KEY, naming it", () => {
    expect(() => loadServerConfig({ NODE_ENV: "production" })).toThrow(/SESSION_SECRET_KEY is required in production/)
  })

  it("lets a demo, development and `next build` go without it", () => {
    expect(loadServerConfig({ NODE_ENV: "production", DEMO_MODE: "true" }).demoMode).toBe(true)
    expect(loadServerConfig({ NODE_ENV: "development" }).demoMode).toBe(false)
    expect(() => loadServerConfig({ NODE_ENV: "production", NEXT_PHASE: "phase-production-build" })).not.toThrow()
  })

  it("refuses a short secret", () => {
    expect(() => loadServerConfig({ NODE_ENV: "production", SESSION_SECRET_KEY: "short" })).toThrow(
      /SESSION_SECRET_KEY must be at least 32 characters/,
    )
  })

  it("keeps Secure cookies in production unless DISABLE_SECURE_COOKIES is true", () => {
    const production = { NODE_ENV: "production", SESSION_SECRET_KEY: SECRET }
    expect(loadServerConfig(production).secureCookies).toBe(true)
    expect(loadServerConfig({ ...production, DISABLE_SECURE_COOKIES: "false" }).secureCookies).toBe(true)
    expect(loadServerConfig({ ...production, DISABLE_SECURE_COOKIES: "true" }).secureCookies).toBe(false)
    expect(loadServerConfig({ NODE_ENV: "development" }).secureCookies).toBe(false)
  })

  it("refuses values that are not true or false", () => {
    expect(() => loadServerConfig({ DISABLE_SECURE_COOKIES: "no" })).toThrow(/DISABLE_SECURE_COOKIES must be "true" or "false"/)
    expect(() => loadServerConfig({ DEMO_MODE: "yes" })).toThrow(/DEMO_MODE must be "true" or "false"/)
    expect(demoModeFromEnv({ DEMO_MODE: "yes" })).toBe(false)
  })

  it("reads the throttle limits", () => {
    const { loginThrottle } = loadServerConfig({ LOGIN_THROTTLE_EMAIL_MAX_FAILURES: "3", LOGIN_THROTTLE_WINDOW_SECONDS: "60" })
    expect(loginThrottle).toEqual({ emailMaxFailures: 3, ipMaxFailures: 50, windowMs: 60_000, maxLockMs: 900_000 })
    expect(() => loadServerConfig({ LOGIN_THROTTLE_IP_MAX_FAILURES: "0" })).toThrow(/LOGIN_THROTTLE_IP_MAX_FAILURES must be at least 1/)
  })
})

describe("loadServerConfig: APP_ORIGIN", () => {
  it("takes an http(s) origin, normalised, and defaults to none", () => {
    expect(loadServerConfig({}).http.appOrigin).toBeNull()
    expect(loadServerConfig({ APP_ORIGIN: "https://Support.Example.com/" }).http.appOrigin).toBe("https://support.example.com")
    expect(loadServerConfig({ APP_ORIGIN: "http://localhost:3000" }).http.appOrigin).toBe("http://localhost:3000")
  })

  it("refuses anything but a bare origin, naming the variable", () => {
    for (const value of ["support.example.com", "ftp://example.com", "https://example.com/app", "https://u:p@example.com", "https://example.com/?x=1", "javascript:alert(1)"]) {
      expect(() => loadServerConfig({ APP_ORIGIN: value })).toThrow(/APP_ORIGIN must be an origin/)
    }
  })
})

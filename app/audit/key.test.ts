import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { loadServerConfig } from "blitz.config"
import { MissingAuditKeyError, resolveAuditKey } from "./key"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "audit-key-"))
const auditConfig = (env: Record<string, string>) => loadServerConfig(env)

describe("resolveAuditKey", () => {
  it("uses AUDIT_HMAC_KEY when set, and refuses one shorter than 32 characters", () => {
    const file = path.join(tmp, "unused")
    const key = resolveAuditKey(auditConfig({ AUDIT_HMAC_KEY: "k".repeat(32) }), "production", file)
    expect(key.secret.toString()).toBe("k".repeat(32))
    expect(key.id).toMatch(/^[0-9a-f]{12}$/)
    expect(fs.existsSync(file)).toBe(false)
    expect(() => loadServerConfig({ AUDIT_HMAC_KEY: "k".repeat(31) })).toThrow(
      "AUDIT_HMAC_KEY must be at least 32 characters",
    )
  })

  it("refuses to run in production without a key unless in demo mode", () => {
    const file = path.join(tmp, "production")
    expect(() => resolveAuditKey(auditConfig({}), "production", file)).toThrow(MissingAuditKeyError)
    expect(() => resolveAuditKey(auditConfig({}), "production", file)).toThrow(
      /AUDIT_HMAC_KEY is not set/,
    )
    expect(fs.existsSync(file)).toBe(false)
    expect(resolveAuditKey(auditConfig({ DEMO_MODE: "true" }), "production", file).id).toMatch(
      /^[0-9a-f]{12}$/,
    )
  })

  it("generates a key once, readable by the owner only, and keeps it", () => {
    const file = path.join(tmp, "dev", "audit-hmac-key")
    const first = resolveAuditKey(auditConfig({}), "development", file)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(resolveAuditKey(auditConfig({}), "development", file)).toEqual(first)
    const other = resolveAuditKey(auditConfig({}), "development", path.join(tmp, "other"))
    expect(other.id).not.toBe(first.id)
  })
})

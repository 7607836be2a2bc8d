import crypto from "node:crypto"
import fs from "node:fs"
import path from "node:path"
import type { ServerConfig } from "blitz.config"
import { serverConfig } from "app/core/serverConfig"

/** Where a demo or development key is generated once; git-ignored, never in the database. */
export const GENERATED_KEY_FILE = path.join(process.cwd(), ".data", "audit-hmac-key")

/** The secret that seals the audit chain, and a short id that names it without revealing it. */
export type AuditKey = { secret: Buffer; id: string }

export class MissingAuditKeyError extends Error {
  name = "MissingAuditKeyError"
}

export function auditKeyFrom(secret: string): AuditKey {
  const bytes = Buffer.from(secret, "utf8")
  const id = crypto.createHmac("sha256", bytes).update("audit-key-id").digest("hex").slice(0, 12)
  return { secret: bytes, id }
}

export function resolveAuditKey(
  { audit, demoMode }: Pick<ServerConfig, "audit" | "demoMode">,
  nodeEnv = process.env.NODE_ENV,
  keyFile = GENERATED_KEY_FILE,
): AuditKey {
  if (audit.hmacKey) return auditKeyFrom(audit.hmacKey)
  if (nodeEnv === "production" && !demoMode) {
    throw new MissingAuditKeyError(
      "AUDIT_HMAC_KEY is not set. In production the audit chain needs a secret of at least 32 " +
        "characters (e.g. `openssl rand -hex 32`), kept outside the database.",
    )
  }
  fs.mkdirSync(path.dirname(keyFile), { recursive: true })
  try {
    fs.writeFileSync(keyFile, crypto.randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error // kept: generated before
  }
  return auditKeyFrom(fs.readFileSync(keyFile, "utf8").trim())
}

let cached: AuditKey | undefined

/** The configured key, read once per process. */
export function auditKey(): AuditKey {
  return (cached ??= resolveAuditKey(serverConfig))
}

import { z } from "zod"

/**
 * The app's one configuration. Constants that the browser bundle also needs live at the top;
 * everything read from the environment is parsed once, with zod, by `loadServerConfig`.
 */
export const cookiePrefix = "safe_imp"

/** Blitz session lifetime for ordinary sign-ins. */
export const sessionExpiryMinutes = 7 * 24 * 60

const booleanFromEnv = z
  .enum(["true", "false", "1", "0"], { message: 'must be "true" or "false"' })
  .transform((value) => value === "true" || value === "1")

const ServerEnv = z.object({
  IMPERSONATION_TTL_SECONDS: z.coerce
    .number({ message: "must be a whole number of seconds" })
    .int("must be a whole number of seconds")
    .min(5, "must be at least 5 seconds")
    .max(8 * 60 * 60, "must be at most 8 hours (28800 seconds)")
    .default(20 * 60),
  IMPERSONATION_ENABLED: booleanFromEnv.default(true),
  // --- Audit chain: key and checkpoints (app/audit/key.ts, app/audit/checkpoint.ts) ---
  AUDIT_HMAC_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  AUDIT_CHECKPOINT_FILE: z.string().optional(),
  AUDIT_CHECKPOINT_EVERY: z.coerce
    .number({ message: "must be a whole number of events" })
    .int("must be a whole number of events")
    .min(1, "must be at least 1")
    .default(100),
  AUDIT_CHECKPOINT_SECONDS: z.coerce
    .number({ message: "must be a whole number of seconds" })
    .int("must be a whole number of seconds")
    .min(1, "must be at least 1 second")
    .default(60),
  DEMO_MODE: booleanFromEnv.default(false),
  // --- end audit chain ---
})

export type ServerConfig = {
  impersonation: {
    /** The global off-switch: when false no impersonation can start. */
    enabled: boolean
    /** Time limit of every impersonation; never extended. */
    ttlSeconds: number
  }
  // --- Audit chain ---
  audit: {
    /** AUDIT_HMAC_KEY; when absent app/audit/key.ts generates one, outside production only. */
    hmacKey: string | null
    /** Where checkpoints are appended; null: the default beside the data folder. */
    checkpointFile: string | null
    /** A checkpoint after this many events, and at most this many seconds after any event. */
    checkpointEvery: number
    checkpointSeconds: number
    demoMode: boolean
  }
  // --- end audit chain ---
}

export function loadServerConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const parsed = ServerEnv.safeParse({
    IMPERSONATION_TTL_SECONDS: env.IMPERSONATION_TTL_SECONDS || undefined,
    IMPERSONATION_ENABLED: env.IMPERSONATION_ENABLED || undefined,
    // --- Audit chain ---
    AUDIT_HMAC_KEY: env.AUDIT_HMAC_KEY || undefined,
    AUDIT_CHECKPOINT_FILE: env.AUDIT_CHECKPOINT_FILE?.trim() || undefined,
    AUDIT_CHECKPOINT_EVERY: env.AUDIT_CHECKPOINT_EVERY || undefined,
    AUDIT_CHECKPOINT_SECONDS: env.AUDIT_CHECKPOINT_SECONDS || undefined,
    DEMO_MODE: env.DEMO_MODE || undefined,
    // --- end audit chain ---
  })
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`)
    throw new Error(`Invalid configuration in the environment: ${problems.join("; ")}`)
  }
  return {
    impersonation: {
      enabled: parsed.data.IMPERSONATION_ENABLED,
      ttlSeconds: parsed.data.IMPERSONATION_TTL_SECONDS,
    },
    // --- Audit chain ---
    audit: {
      hmacKey: parsed.data.AUDIT_HMAC_KEY ?? null,
      checkpointFile: parsed.data.AUDIT_CHECKPOINT_FILE ?? null,
      checkpointEvery: parsed.data.AUDIT_CHECKPOINT_EVERY,
      checkpointSeconds: parsed.data.AUDIT_CHECKPOINT_SECONDS,
      demoMode: parsed.data.DEMO_MODE,
    },
    // --- end audit chain ---
  }
}

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
  // --- HTTP edge and logs (TRUST_PROXY, LOG_LEVEL) ---
  TRUST_PROXY: z.coerce
    .number({ message: "must be the number of trusted proxy hops (0 when none)" })
    .int("must be a whole number of proxy hops")
    .min(0, "must be 0 or more")
    .max(10, "must be at most 10")
    .default(0),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      message: "must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
  // --- end HTTP edge and logs ---
})

export type ServerConfig = {
  impersonation: {
    /** The global off-switch: when false no impersonation can start. */
    enabled: boolean
    /** Time limit of every impersonation; never extended. */
    ttlSeconds: number
  }
  // --- HTTP edge and logs ---
  http: {
    /** How many reverse proxies in front of the server append to X-Forwarded-For (0: none). */
    trustProxy: number
  }
  logLevel: z.infer<typeof ServerEnv>["LOG_LEVEL"]
  // --- end HTTP edge and logs ---
}

export function loadServerConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const parsed = ServerEnv.safeParse({
    IMPERSONATION_TTL_SECONDS: env.IMPERSONATION_TTL_SECONDS || undefined,
    IMPERSONATION_ENABLED: env.IMPERSONATION_ENABLED || undefined,
    // --- HTTP edge and logs ---
    TRUST_PROXY: env.TRUST_PROXY || undefined,
    LOG_LEVEL: env.LOG_LEVEL || undefined,
    // --- end HTTP edge and logs ---
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
    // --- HTTP edge and logs ---
    http: { trustProxy: parsed.data.TRUST_PROXY },
    logLevel: parsed.data.LOG_LEVEL,
    // --- end HTTP edge and logs ---
  }
}

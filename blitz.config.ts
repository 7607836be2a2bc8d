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
})

export type ServerConfig = {
  impersonation: {
    /** The global off-switch: when false no impersonation can start. */
    enabled: boolean
    /** Time limit of every impersonation; never extended. */
    ttlSeconds: number
  }
}

export function loadServerConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const parsed = ServerEnv.safeParse({
    IMPERSONATION_TTL_SECONDS: env.IMPERSONATION_TTL_SECONDS || undefined,
    IMPERSONATION_ENABLED: env.IMPERSONATION_ENABLED || undefined,
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
  }
}

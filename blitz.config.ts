import { z } from "zod"

/**
 * The app's one configuration. Constants that the browser bundle also needs live at the top;
 * everything read from the environment is parsed once, with zod, by `loadServerConfig`.
 */
export const cookiePrefix = "safe_imp"

/** Blitz session lifetime for ordinary sign-ins. */
export const sessionExpiryMinutes = 7 * 24 * 60

/**
 * Guard rails while impersonating (DESIGN.md rules 8 and 9), by RPC resolver name. Every other
 * mutation is refused in read-only mode (IMPERSONATION_READ_ONLY) and allowed, audited, in
 * read-write mode; a resolver added later is covered without code of its own.
 */
export const impersonationGuardRails = {
  /** Refused in every mode (IMPERSONATION_REFUSED_ACTION), audited, nothing changed. */
  refusedActions: [
    "changePassword",
    "changeEmail",
    "deleteAccount",
    "createApiKey",
    "changeMemberRole",
    // Starting another impersonation, by any way in.
    "impersonateUser",
    "createActorToken",
    "redeemActorToken",
    // The user's own say over support access (issue 8): never decided by the admin acting as them.
    "setImpersonationConsent",
    "decideAccessRequest",
    "revokeAccessGrant",
    "endAccessByUser",
    "setOrganizationConsentFloor",
    // Where security events are sent (SUPERADMIN tools).
    "createWebhookEndpoint",
    "setWebhookEndpointEnabled",
    "deleteWebhookEndpoint",
    "retryOutboxMessage",
  ],
  /**
   * Always allowed and not gated: ending the impersonation (its own audit event: Stop, sign-out,
   * or signing in over it as someone else, which ends it as SIGNED_OUT) and revealing a masked
   * field (audited as SENSITIVE_FIELD_REVEALED). Creating an account (signup) is a mutation
   * like any other: refused read-only.
   */
  alwaysAllowed: ["stopImpersonating", "logout", "login", "revealSensitiveField"],
} as const satisfies { refusedActions: readonly string[]; alwaysAllowed: readonly string[] }

/**
 * Sensitive fields, by Prisma model: masked in every query result while impersonating
 * (db/index.ts), revealed one at a time by `revealSensitiveField` with a reason (audited).
 * To add one: name the field here and give it a label; nothing else changes.
 */
export const sensitiveFields = {
  "User.phone": { model: "User", field: "phone", label: "Phone number" },
  "ApiKey.lastChars": { model: "ApiKey", field: "lastChars", label: "API key ending" },
} as const satisfies Record<string, { model: string; field: string; label: string }>

export type SensitiveFieldName = keyof typeof sensitiveFields

const booleanFromEnv = z
  .enum(["true", "false", "1", "0"], { message: 'must be "true" or "false"' })
  .transform((value) => value === "true" || value === "1")

const wholeNumber = (min: number, fallback: number) =>
  z.coerce.number({ message: "must be a whole number" }).int("must be a whole number").min(min, `must be at least ${min}`).default(fallback)

/** `https://host[:port]` and nothing more: where actor-token links point. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value)
    const bare = url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password
    return (url.protocol === "http:" || url.protocol === "https:") && bare && !/[?#]/.test(value)
  } catch {
    return false
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

const ServerEnv = z.object({
  IMPERSONATION_TTL_SECONDS: z.coerce
    .number({ message: "must be a whole number of seconds" })
    .int("must be a whole number of seconds")
    .min(5, "must be at least 5 seconds")
    .max(8 * 60 * 60, "must be at most 8 hours (28800 seconds)")
    .default(20 * 60),
  IMPERSONATION_ENABLED: booleanFromEnv.default(true),
  IMPERSONATION_MONTHLY_QUOTA: z.coerce
    .number({ message: "must be a whole number of impersonations per admin per month" })
    .int("must be a whole number of impersonations per admin per month")
    .min(1, "must be at least 1 (leave it unset for no limit)")
    .optional(),
  ACTOR_TOKEN_TTL_SECONDS: z.coerce
    .number({ message: "must be a whole number of seconds" })
    .int("must be a whole number of seconds")
    .min(10, "must be at least 10 seconds")
    .max(60 * 60, "must be at most 1 hour (3600 seconds)")
    .default(5 * 60),
  DEMO_MODE: booleanFromEnv.default(false),
  SESSION_SECRET_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  DISABLE_SECURE_COOKIES: booleanFromEnv.default(false),
  LOGIN_THROTTLE_EMAIL_MAX_FAILURES: wholeNumber(1, 5),
  LOGIN_THROTTLE_IP_MAX_FAILURES: wholeNumber(1, 50),
  LOGIN_THROTTLE_WINDOW_SECONDS: wholeNumber(1, 15 * 60),
  LOGIN_THROTTLE_MAX_LOCK_SECONDS: wholeNumber(1, 15 * 60),
  AUDIT_HMAC_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  AUDIT_CHECKPOINT_FILE: z.string().trim().optional(),
  AUDIT_CHECKPOINT_EVERY: wholeNumber(1, 100),
  AUDIT_CHECKPOINT_SECONDS: wholeNumber(1, 60),
  AUDIT_EXPORT_MAX_CONCURRENT: wholeNumber(1, 2),
  AUDIT_EXPORT_MAX_PER_USER: wholeNumber(1, 1),
  AUDIT_EXPORT_TIME_LIMIT_SECONDS: wholeNumber(10, 10 * 60),
  APP_ORIGIN: z
    .string()
    .trim()
    .refine(isOrigin, "must be an origin such as https://support.example.com (http or https, no path)")
    .transform((value) => new URL(value).origin)
    .optional(),
  TRUST_PROXY: z.coerce
    .number({ message: "must be the number of trusted proxy hops (0 when none)" })
    .int("must be a whole number of proxy hops")
    .min(0, "must be 0 or more")
    .max(10, "must be at most 10")
    .default(0),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, "must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587")
    .optional(),
  MAIL_FROM: z.string().trim().min(3).max(200).regex(/^[^\r\n]+$/, "must be one line").default("Acme Support <no-reply@localhost>"),
  MAIL_PREVIEW_DIR: z.string().trim().optional(),
  WEBHOOK_URL: z
    .string()
    .trim()
    .refine(isHttpUrl, "must be an http:// or https:// URL")
    .optional(),
  WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  WEBHOOK_TIMEOUT_MS: wholeNumber(100, 10_000),
  OUTBOX_WORKER: booleanFromEnv.default(true),
  OUTBOX_POLL_MS: wholeNumber(50, 2_000),
  OUTBOX_MAX_ATTEMPTS: wholeNumber(1, 8),
  OUTBOX_RETRY_BASE_MS: wholeNumber(1, 30_000),
  OUTBOX_LEASE_SECONDS: wholeNumber(1, 60),
  SQL_STATEMENT_HEADER: booleanFromEnv.default(false),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      message: "must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
})

/** Also read by next.config.ts, before the rest is validated (an invalid value counts as off). */
export function demoModeFromEnv(env: Record<string, string | undefined> = process.env): boolean {
  return booleanFromEnv.safeParse(env.DEMO_MODE).data ?? false
}

export type ServerConfig = {
  impersonation: {
    /** The global off-switch: when false no impersonation can start. */
    enabled: boolean
    /** Time limit of every impersonation; never extended. */
    ttlSeconds: number
    /** Starts per admin per calendar month (UTC); null: no limit. */
    monthlyQuota: number | null
    /** How long an actor token can be redeemed after it is created. */
    actorTokenTtlSeconds: number
  }
  /** The published demo accounts may be served (`npm run quickstart`); every page says so. */
  demoMode: boolean
  /** Session cookies carry `Secure` (production unless DISABLE_SECURE_COOKIES=true). */
  secureCookies: boolean
  /** Failed sign-ins before a lock, per email and per client IP, and how long locks grow. */
  loginThrottle: { emailMaxFailures: number; ipMaxFailures: number; windowMs: number; maxLockMs: number }
  audit: {
    /** AUDIT_HMAC_KEY; when absent app/audit/key.ts generates one, outside production only. */
    hmacKey: string | null
    /** Where checkpoints are appended; null: the default beside the data folder. */
    checkpointFile: string | null
    /** A checkpoint after this many events, and at most this many seconds after any event. */
    checkpointEvery: number
    checkpointSeconds: number
    /** CSV exports running at once in this process, overall and per user (each holds a connection). */
    exportMaxConcurrent: number
    exportMaxPerUser: number
    /** An export still running after this long is ended, so a slow reader cannot hold a slot forever. */
    exportTimeLimitMs: number
  }
  mail: {
    /** SMTP server to deliver through; null: messages are written to `previewDir` instead. */
    smtpUrl: string | null
    from: string
    /** Where messages go without SMTP; null: `.data/mail-preview` (mailers/mailer.ts). */
    previewDir: string | null
  }
  /** The outbox worker (mailers/worker.ts): receipts and webhooks, retried with backoff. */
  outbox: {
    /** Run the worker inside each server process (every instance may; none sends twice). */
    inProcessWorker: boolean
    pollMs: number
    /** Tries before a message is DEAD (the dead-letter state). */
    maxAttempts: number
    /** The wait before retry n is base * 2^(n-1), capped at one hour. */
    retryBaseMs: number
    /** A claimed message is left to another worker after this long (a worker that died mid-send). */
    leaseMs: number
  }
  webhooks: {
    /** The endpoint configured by the environment (WEBHOOK_URL, WEBHOOK_SECRET); null: none. */
    fromEnv: { url: string; secret: string } | null
    timeoutMs: number
  }
  http: {
    /** How many reverse proxies in front of the server append to X-Forwarded-For (0: none). */
    trustProxy: number
    /** The public origin of the app (APP_ORIGIN), for links such as actor tokens; null: the request's. */
    appOrigin: string | null
    /**
     * Each RPC answer says how many SQL statements it sent (`X-Sql-Statements`), for `npm run
     * bench` and the tests of the statement budgets; off by default (it tells a client a little
     * about what the server did).
     */
    sqlStatementHeader: boolean
  }
  logLevel: z.infer<typeof ServerEnv>["LOG_LEVEL"]
}

export function loadServerConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  // An empty variable counts as unset.
  const parsed = ServerEnv.safeParse(
    Object.fromEntries(Object.keys(ServerEnv.shape).map((key) => [key, env[key] || undefined])),
  )
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`)
    throw new Error(`Invalid configuration in the environment: ${problems.join("; ")}`)
  }
  if (Boolean(parsed.data.WEBHOOK_URL) !== Boolean(parsed.data.WEBHOOK_SECRET)) {
    throw new Error("Invalid configuration in the environment: WEBHOOK_URL and WEBHOOK_SECRET must be set together")
  }
  const production = env.NODE_ENV === "production"
  const building = env.NEXT_PHASE === "phase-production-build" // `next build` signs nothing
  // Blitz would sign sessions with a guessable default key; only a demo generates one (next.config.ts).
  if (production && !building && !parsed.data.DEMO_MODE && !parsed.data.SESSION_SECRET_KEY) {
    throw new Error(
      "Invalid configuration in the environment: SESSION_SECRET_KEY is required in production " +
        "(a random value of at least 32 characters, e.g. `openssl rand -hex 32`); " +
        "only DEMO_MODE=true generates one.",
    )
  }
  return {
    impersonation: {
      enabled: parsed.data.IMPERSONATION_ENABLED,
      ttlSeconds: parsed.data.IMPERSONATION_TTL_SECONDS,
      monthlyQuota: parsed.data.IMPERSONATION_MONTHLY_QUOTA ?? null,
      actorTokenTtlSeconds: parsed.data.ACTOR_TOKEN_TTL_SECONDS,
    },
    demoMode: parsed.data.DEMO_MODE,
    secureCookies: production && !parsed.data.DISABLE_SECURE_COOKIES,
    loginThrottle: {
      emailMaxFailures: parsed.data.LOGIN_THROTTLE_EMAIL_MAX_FAILURES,
      ipMaxFailures: parsed.data.LOGIN_THROTTLE_IP_MAX_FAILURES,
      windowMs: parsed.data.LOGIN_THROTTLE_WINDOW_SECONDS * 1000,
      maxLockMs: parsed.data.LOGIN_THROTTLE_MAX_LOCK_SECONDS * 1000,
    },
    audit: {
      hmacKey: parsed.data.AUDIT_HMAC_KEY ?? null,
      checkpointFile: parsed.data.AUDIT_CHECKPOINT_FILE || null,
      checkpointEvery: parsed.data.AUDIT_CHECKPOINT_EVERY,
      checkpointSeconds: parsed.data.AUDIT_CHECKPOINT_SECONDS,
      exportMaxConcurrent: parsed.data.AUDIT_EXPORT_MAX_CONCURRENT,
      exportMaxPerUser: parsed.data.AUDIT_EXPORT_MAX_PER_USER,
      exportTimeLimitMs: parsed.data.AUDIT_EXPORT_TIME_LIMIT_SECONDS * 1000,
    },
    mail: {
      smtpUrl: parsed.data.SMTP_URL ?? null,
      from: parsed.data.MAIL_FROM,
      previewDir: parsed.data.MAIL_PREVIEW_DIR || null,
    },
    outbox: {
      inProcessWorker: parsed.data.OUTBOX_WORKER,
      pollMs: parsed.data.OUTBOX_POLL_MS,
      maxAttempts: parsed.data.OUTBOX_MAX_ATTEMPTS,
      retryBaseMs: parsed.data.OUTBOX_RETRY_BASE_MS,
      leaseMs: parsed.data.OUTBOX_LEASE_SECONDS * 1000,
    },
    webhooks: {
      fromEnv:
        parsed.data.WEBHOOK_URL && parsed.data.WEBHOOK_SECRET
          ? { url: parsed.data.WEBHOOK_URL, secret: parsed.data.WEBHOOK_SECRET }
          : null,
      timeoutMs: parsed.data.WEBHOOK_TIMEOUT_MS,
    },
    http: {
      trustProxy: parsed.data.TRUST_PROXY,
      appOrigin: parsed.data.APP_ORIGIN ?? null,
      sqlStatementHeader: parsed.data.SQL_STATEMENT_HEADER,
    },
    logLevel: parsed.data.LOG_LEVEL,
  }
}

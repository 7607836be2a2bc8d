import db, { Prisma } from "db"
import { serverConfig } from "app/core/serverConfig"
import { afterFailure, lockRemainingMs, throttledMessage, type ThrottleLimits } from "./throttlePolicy"

type Tx = Prisma.TransactionClient
export type ThrottleKey = { key: string; limits: ThrottleLimits }

export class SignInThrottledError extends Error {
  name = "SignInThrottledError"
  statusCode = 429
  constructor(remainingMs: number) {
    super(throttledMessage(remainingMs))
  }
}

/** The email's key; a browser known for the email (knownDevice.ts) has its own, with the same limits. */
export function emailKey(email: string, deviceId: string | null) {
  return deviceId ? `device:${email}:${deviceId}` : `email:${email}`
}

/** The keys one sign-in attempt counts against: its email (normalised) and, when known, its IP. */
export function loginThrottleKeys(email: string, ip: string | null, deviceId: string | null = null): ThrottleKey[] {
  const { emailMaxFailures, ipMaxFailures, windowMs, maxLockMs } = serverConfig.loginThrottle
  const keys = [{ key: emailKey(email, deviceId), limits: { maxFailures: emailMaxFailures, windowMs, maxLockMs } }]
  if (ip) keys.push({ key: `ip:${ip}`, limits: { maxFailures: ipMaxFailures, windowMs, maxLockMs } })
  return keys
}

/** Milliseconds until every key may try again (0: now). */
export async function loginLockRemainingMs(keys: ThrottleKey[], now = new Date()): Promise<number> {
  const rows = await db.loginThrottle.findMany({ where: { key: { in: keys.map((k) => k.key) } } })
  return Math.max(0, ...rows.map((row) => lockRemainingMs(row, now)))
}

/**
 * Whether a refusal by the current lock is the first for that lock (and marks it so). Only the
 * first refused attempt of each lock is audited; the rest would let a locked flood fill the log.
 */
export async function firstRefusalOfLock(keys: ThrottleKey[], now = new Date()): Promise<boolean> {
  const marked = await db.$executeRaw`
    UPDATE "LoginThrottle" SET "refusalAuditedFor" = "lockedUntil"
    WHERE "key" IN (${Prisma.join(keys.map((k) => k.key))}) AND "lockedUntil" > ${now}
      AND "refusalAuditedFor" IS DISTINCT FROM "lockedUntil"`
  return marked > 0
}

/** Counts one failure against each key; the row lock makes concurrent failures all count. */
export async function recordLoginFailure(tx: Tx, keys: ThrottleKey[], now = new Date()) {
  for (const { key, limits } of keys) {
    await tx.$executeRaw`INSERT INTO "LoginThrottle" ("key", "failures", "windowStartedAt")
      VALUES (${key}, 0, ${now}) ON CONFLICT ("key") DO NOTHING`
    await tx.$queryRaw`SELECT 1 FROM "LoginThrottle" WHERE "key" = ${key} FOR UPDATE`
    const state = await tx.loginThrottle.findUniqueOrThrow({ where: { key } })
    await tx.loginThrottle.update({ where: { key }, data: afterFailure(state, now, limits) })
  }
}

/**
 * A successful sign-in forgets the failures of the email key it counted against (not its IP's):
 * one on a known browser leaves a flood's lock on the email in place.
 */
export async function clearEmailFailures(tx: Tx, email: string, deviceId: string | null = null) {
  await tx.loginThrottle.deleteMany({ where: { key: emailKey(email, deviceId) } })
}

import db from "db"
import { log } from "app/core/log"
import { isDatabaseUnreachable, lastMessageLine } from "app/core/errors"
import { serverConfig } from "app/core/serverConfig"
import { postWebhook } from "integrations/webhooks"
import { deliverEmail } from "./mailer"
import { expireAccessRequests } from "app/access/requests"
import { sweepAuditSeals } from "app/audit/sealer"

/**
 * The outbox worker: delivers the PENDING OutboxMessage rows whose `nextAttemptAt` is due
 * (receipts and other emails through mailers/mailer.ts, webhooks signed through
 * integrations/webhooks.ts), retrying failures with exponential backoff until
 * OUTBOX_MAX_ATTEMPTS, after which a message is DEAD (the dead-letter state).
 *
 * Any number of workers, in any number of processes, can run at once: a message is claimed by
 * one UPDATE that takes it with `FOR UPDATE SKIP LOCKED` and moves its `nextAttemptAt` one
 * lease ahead. No transaction is held while sending; a worker that dies after claiming leaves
 * the message to another after the lease. Results are written only while the claim is still
 * this worker's (same `attempts`).
 */

/** No retry waits longer than this, whatever the attempt. */
export const MAX_RETRY_DELAY_MS = 60 * 60 * 1000

/** Messages claimed by one pass; delivered concurrently, so each starts well within its lease. */
export const CLAIM_BATCH = 10

export type OutboxSettings = { maxAttempts: number; retryBaseMs: number; leaseMs: number }

/** The wait before retry `attempt + 1` after attempt `attempt` (1-based) failed: base * 2^(attempt-1), capped at an hour. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  const exponent = Math.max(0, attempt - 1)
  return Math.min(baseMs * 2 ** exponent, MAX_RETRY_DELAY_MS)
}

/** What becomes of a message whose attempt `attempt` failed at `now`. */
export function afterFailedAttempt(
  attempt: number,
  now: Date,
  settings: Pick<OutboxSettings, "maxAttempts" | "retryBaseMs">,
): { status: "DEAD" } | { status: "PENDING"; nextAttemptAt: Date } {
  if (attempt >= settings.maxAttempts) return { status: "DEAD" }
  return { status: "PENDING", nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempt, settings.retryBaseMs)) }
}

/** Each send gives up well before the lease ends, so no other worker can take a message still being sent. */
export function sendTimeoutMs(leaseMs: number, wantedMs: number): number {
  return Math.max(50, Math.min(wantedMs, Math.floor(leaseMs / 2)))
}

export type ClaimedMessage = {
  id: number
  kind: "EMAIL" | "WEBHOOK"
  to: string
  subject: string
  text: string
  endpointId: number | null
  /** This attempt's number (the claim counted it). */
  attempts: number
}

/** Prisma keeps DateTime columns as UTC `timestamp(3)`: raw SQL compares with the same text. */
function utcTimestamp(date: Date): string {
  return date.toISOString()
}

/** Claims up to `limit` due messages for this worker, in one statement. */
export async function claimDueMessages(now: Date, limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
  const leaseEnds = new Date(now.getTime() + leaseMs)
  return db.$queryRaw<ClaimedMessage[]>`
    UPDATE "OutboxMessage"
    SET "nextAttemptAt" = ${utcTimestamp(leaseEnds)}::timestamp(3), "attempts" = "attempts" + 1
    WHERE "id" IN (
      SELECT "id" FROM "OutboxMessage"
      WHERE "status" = 'PENDING' AND "nextAttemptAt" <= ${utcTimestamp(now)}::timestamp(3)
      ORDER BY "id"
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING "id", "kind"::text AS "kind", "to", "subject", "text", "endpointId", "attempts"`
}

type Outcome = { ok: true } | { ok: false; error: string; final?: boolean }

async function deliverWebhook(message: ClaimedMessage, leaseMs: number, now: Date): Promise<Outcome> {
  let secret: string
  if (message.endpointId !== null) {
    const endpoint = await db.webhookEndpoint.findUnique({
      where: { id: message.endpointId },
      select: { secret: true, enabled: true, deletedAt: true },
    })
    if (!endpoint || endpoint.deletedAt) return { ok: false, error: "The endpoint was deleted", final: true }
    if (!endpoint.enabled) return { ok: false, error: "The endpoint is disabled", final: true }
    secret = endpoint.secret
  } else {
    const fromEnv = serverConfig.webhooks.fromEnv
    // Never sign for a URL the environment no longer names.
    if (!fromEnv || fromEnv.url !== message.to) {
      return { ok: false, error: "WEBHOOK_URL no longer names this endpoint", final: true }
    }
    secret = fromEnv.secret
  }
  let eventId = `msg_${message.id}`
  try {
    eventId = String((JSON.parse(message.text) as { id?: unknown }).id ?? eventId)
  } catch {
    // a body that is not JSON is still sent as written
  }
  const attempt = await postWebhook({
    url: message.to,
    secret,
    eventId,
    body: message.text,
    timeoutMs: sendTimeoutMs(leaseMs, serverConfig.webhooks.timeoutMs),
    now,
  })
  return attempt.ok ? { ok: true } : { ok: false, error: attempt.error }
}

async function deliverMessage(message: ClaimedMessage, leaseMs: number, now: Date): Promise<Outcome> {
  try {
    if (message.kind === "WEBHOOK") return await deliverWebhook(message, leaseMs, now)
    await deliverEmail(
      { to: message.to, subject: message.subject, text: message.text },
      { timeoutMs: sendTimeoutMs(leaseMs, 30_000) },
    )
    return { ok: true }
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    return { ok: false, error: text.replace(/\s+/g, " ").slice(0, 500) || "Delivery failed" }
  }
}

export type PassResult = { claimed: number; sent: number; retried: number; dead: number; lost: number }

/**
 * One pass: claims what is due and delivers it. Used by the loop, by tests, and by
 * `npm run worker -- --once`. Throws only when the database cannot be reached.
 */
export async function runOutboxPass({
  now = new Date(),
  limit = CLAIM_BATCH,
  settings = serverConfig.outbox,
}: { now?: Date; limit?: number; settings?: OutboxSettings } = {}): Promise<PassResult> {
  const result: PassResult = { claimed: 0, sent: 0, retried: 0, dead: 0, lost: 0 }
  await runPeriodicTasks(now)
  const claimed = await claimDueMessages(now, limit, settings.leaseMs)
  result.claimed = claimed.length
  await Promise.all(
    claimed.map(async (message) => {
      const outcome = await deliverMessage(message, settings.leaseMs, now)
      const finishedAt = new Date()
      const next = outcome.ok
        ? ({ status: "SENT", sentAt: finishedAt, lastError: null } as const)
        : outcome.final
          ? ({ status: "DEAD", lastError: outcome.error } as const)
          : { ...afterFailedAttempt(message.attempts, finishedAt, settings), lastError: outcome.error }
      // Only while the claim is still ours: after the lease another worker may have taken it.
      const { count } = await db.outboxMessage.updateMany({
        where: { id: message.id, status: "PENDING", attempts: message.attempts },
        data: next,
      })
      const about = { id: message.id, kind: message.kind, attempt: message.attempts }
      if (count === 0) {
        result.lost++
        log.warn({ outbox: about }, "Outbox message outlived its lease; another worker has taken it over")
      } else if (next.status === "SENT") {
        result.sent++
      } else if (next.status === "DEAD") {
        result.dead++
        log.warn({ outbox: { ...about, error: next.lastError } }, `Outbox message is dead after ${message.attempts} attempt(s): ${next.lastError}`)
      } else {
        result.retried++
        log.warn(
          { outbox: { ...about, error: next.lastError, nextAttemptAt: next.nextAttemptAt } },
          `Outbox message not delivered (${next.lastError}); it will be retried`,
        )
      }
    }),
  )
  return result
}

export type PeriodicTask = { name: string; everyMs: number; run: (now: Date) => Promise<unknown> }

/**
 * Housekeeping that every worker runs, each task at most every `everyMs` per process. Tasks must
 * be safe to run on several instances at once (conditional updates).
 */
export const periodicTasks: PeriodicTask[] = [
  // Access requests unanswered for 24 hours: ACCESS_REQUEST_EXPIRED, once each (and its webhook).
  { name: "expire access requests", everyMs: 60_000, run: (now) => expireAccessRequests(now) },
  // Audit events committed by a process that died before sealing them (app/audit/sealer.ts).
  { name: "seal audit events", everyMs: 10_000, run: () => sweepAuditSeals() },
]

const lastRunAt = new Map<string, number>()

async function runPeriodicTasks(now: Date) {
  for (const task of periodicTasks) {
    const last = lastRunAt.get(task.name)
    if (last !== undefined && now.getTime() - last < task.everyMs) continue
    lastRunAt.set(task.name, now.getTime())
    try {
      await task.run(now)
    } catch (error) {
      const again = `it runs again in ${task.everyMs} ms`
      // A database that is down is not a fault of the task: one line, no stack.
      if (isDatabaseUnreachable(error)) log.warn(`Periodic task "${task.name}" skipped: ${lastMessageLine(error)}; ${again}`)
      else log.error({ err: error }, `Periodic task "${task.name}" failed; ${again}`)
    }
  }
}

export type OutboxWorker = { stop: () => Promise<void> }

/**
 * Runs passes until stopped: at once again while passes come back full (a backlog), otherwise
 * every `pollMs`. A failing pass (database unreachable) is logged once, in words, and once more
 * when passes work again; the loop itself never throws.
 */
export function startOutboxWorker({
  pollMs = serverConfig.outbox.pollMs,
  keepProcessAlive = false,
}: { pollMs?: number; keepProcessAlive?: boolean } = {}): OutboxWorker {
  let stopped = false
  let wake: (() => void) | null = null
  let failing = false
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      if (!keepProcessAlive) timer.unref()
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  const loop = (async () => {
    while (!stopped) {
      let full = false
      try {
        const result = await runOutboxPass()
        full = result.claimed >= CLAIM_BATCH
        if (failing) log.info("Outbox worker: the database answers again; delivering")
        failing = false
      } catch (error) {
        if (!failing) {
          const reason = error instanceof Error ? error.message : String(error)
          log.error(`Outbox worker: could not read the outbox (${reason.split("\n")[0]}); retrying every ${pollMs} ms`)
        }
        failing = true
      }
      if (!stopped && !full) await sleep(pollMs)
    }
  })()
  return {
    async stop() {
      stopped = true
      wake?.()
      await loop
    },
  }
}

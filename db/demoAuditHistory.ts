import { recordAuditEvent, flushAuditCheckpoint, type AuditEntry } from "app/audit/log"
import { SEAL_BATCH, sealInTransaction } from "app/audit/sealer"
import { serverConfig } from "app/core/serverConfig"
import { runWithRequestMeta } from "app/core/requestContext"
import { toPolicyUser, userForPolicy } from "app/impersonation/guard"
import { decideTarget, type Grant, type PolicyUser } from "app/impersonation/policy"
import { DEMO_USERS } from "./demoAccounts"
import type { ImpersonationEndReason } from "./generated/enums"
import db from "./index"

/**
 * The quickstart's audit history: a month of ended impersonations between the demo staff and
 * organization admins and the demo users, with their audit events, so the audit log's chart
 * and paging have something to show. Every event goes through `recordAuditEvent`, in time
 * order, so the HMAC chain verifies (`npm run audit:verify`). Runs once per database.
 */

/** Marks this seed's events (a sealed detail): its presence means the history is there. */
export const DEMO_HISTORY_MARK = "demoHistory"
const DEMO_HISTORY_LOCK = 727_436_010
const DAYS = 30

const ADMIN_WEIGHTS: Array<[email: string, weight: number]> = [
  ["support@example.com", 50],
  ["superadmin@example.com", 20],
  ["owner@acme.example", 15],
  ["admin@acme.example", 15],
]

const REASONS = [
  "Checkout button does nothing on the billing page",
  "Invoice PDF shows the wrong VAT number",
  "Cannot see the shared project after the invite",
  "Dashboard widgets stay empty since yesterday",
  "Password reset email never arrives",
  "Export to CSV times out",
  "Notifications settings do not save",
  "Wrong timezone on scheduled reports",
  "Team member list shows a removed colleague",
  "File upload fails at 99%",
  "Onboarding checklist stuck on step 3",
  "Reproducing a crash on the projects page",
]

const ADMIN_DEVICES: Record<string, { ip: string; userAgent: string }> = {
  "support@example.com": {
    ip: "203.0.113.24",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
  },
  "superadmin@example.com": {
    ip: "203.0.113.7",
    userAgent: "Mozilla/5.0 (Macintosh) Safari/605.1.15",
  },
  "owner@acme.example": {
    ip: "198.51.100.40",
    userAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0",
  },
  "admin@acme.example": {
    ip: "198.51.100.41",
    userAgent: "Mozilla/5.0 (Windows NT 10.0) Edge/131.0",
  },
}

/** A small deterministic generator (mulberry32), so every quickstart gets the same kind of month. */
function randomGenerator(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!,
  }
}

type DemoPerson = PolicyUser & { email: string }

type PlannedImpersonation = {
  actor: DemoPerson
  subject: DemoPerson
  grant: Grant
  reason: string
  ticketUrl: string | null
  startedAt: Date
  expiresAt: Date
  endedAt: Date
  endReason: ImpersonationEndReason
  endedById: number | null
}

type PlannedEvent = {
  at: Date
  actorEmail: string
  entry: AuditEntry
  impersonation?: PlannedImpersonation
}

const MINUTE = 60_000
const SLOT_MINUTES = 30 // one impersonation per half hour at most: never two live for one admin

/** The month's events in time order; impersonation ids are filled in when the rows exist. */
export function planDemoHistory(
  people: DemoPerson[],
  now: Date,
  ttlSeconds: number,
): PlannedEvent[] {
  const random = randomGenerator(20261202)
  const byEmail = new Map(people.map((person) => [person.email, person]))
  const superadmin = byEmail.get("superadmin@example.com")
  const ttlMs = ttlSeconds * 1000
  const targetsOf = new Map(
    ADMIN_WEIGHTS.flatMap(([email]) => {
      const actor = byEmail.get(email)
      if (!actor) return []
      const allowed = people.flatMap((target) => {
        const decision = decideTarget(actor, target)
        return decision.allowed ? [{ target, grant: decision.grant }] : []
      })
      return allowed.length ? [[email, allowed] as const] : []
    }),
  )
  const weighted = ADMIN_WEIGHTS.filter(([email]) => targetsOf.has(email))
  const totalWeight = weighted.reduce((sum, [, weight]) => sum + weight, 0)
  const pickAdmin = () => {
    let roll = random.next() * totalWeight
    for (const [email, weight] of weighted) if ((roll -= weight) < 0) return email
    return weighted[0]![0]
  }
  const events: PlannedEvent[] = []
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  for (let back = DAYS - 1; back >= 0 && weighted.length; back--) {
    const dayStart = today - back * 86_400_000
    const weekend = [0, 6].includes(new Date(dayStart).getUTCDay())
    const count = weekend ? random.int(0, 2) : random.int(3, 9)
    // Office hours 08:00-18:00 UTC, in half-hour slots.
    const slots = Array.from({ length: 20 }, (_, i) => i)
    const chosen = Array.from(
      { length: count },
      () => slots.splice(random.int(0, slots.length - 1), 1)[0]!,
    )
    const signedIn = new Set<string>()
    for (const slot of chosen.sort((a, b) => a - b)) {
      const startedAt = new Date(
        dayStart + 8 * 60 * MINUTE + slot * SLOT_MINUTES * MINUTE + random.int(0, 8) * MINUTE,
      )
      const longest = Math.min(ttlMs, (SLOT_MINUTES - 10) * MINUTE)
      if (startedAt.getTime() + SLOT_MINUTES * MINUTE > now.getTime()) continue // the past only
      const adminEmail = pickAdmin()
      const actor = byEmail.get(adminEmail)!
      if (!signedIn.has(adminEmail)) {
        signedIn.add(adminEmail)
        events.push({
          at: new Date(dayStart + 7 * 60 * MINUTE + random.int(30, 59) * MINUTE),
          actorEmail: adminEmail,
          entry: {
            action: "SIGNED_IN",
            actorId: actor.id,
            subjectId: actor.id,
            impersonationId: null,
            organizationId: null,
            details: { method: "PASSWORD", [DEMO_HISTORY_MARK]: true },
          },
        })
      }
      const refusable = people.filter((person) => !decideTarget(actor, person).allowed)
      if (random.next() < 0.08 && refusable.length) {
        // Now and then a start the policy refuses, as the console would have recorded it.
        const target = random.pick(refusable)
        const decision = decideTarget(actor, target)
        if (!decision.allowed) {
          events.push({
            at: startedAt,
            actorEmail: adminEmail,
            entry: {
              action: "IMPERSONATION_REFUSED",
              actorId: actor.id,
              subjectId: target.id,
              impersonationId: null,
              organizationId: null,
              details: {
                code: decision.code,
                reason: random.pick(REASONS),
                requested: { email: target.email },
                ticketUrl: null,
                [DEMO_HISTORY_MARK]: true,
              },
            },
          })
          continue
        }
      }
      const { target: subject, grant } = random.pick(targetsOf.get(adminEmail)!)
      const roll = random.next()
      // An expiry at the time limit must still fit in the half-hour slot.
      const canExpire = ttlMs <= longest
      const canBeEndedBySuperadmin = superadmin !== undefined && actor.id !== superadmin.id
      const endReason: ImpersonationEndReason =
        roll < 0.7
          ? "STOPPED"
          : roll < 0.85
          ? canExpire
            ? "EXPIRED"
            : "STOPPED"
          : roll < 0.93
          ? "SIGNED_OUT"
          : canBeEndedBySuperadmin
          ? "ENDED_BY_ADMIN"
          : "STOPPED"
      const expiresAt = new Date(startedAt.getTime() + ttlMs)
      const endedAt =
        endReason === "EXPIRED"
          ? expiresAt
          : new Date(
              startedAt.getTime() +
                Math.min(random.int(2, 18) * MINUTE + random.int(0, 59) * 1000, ttlMs - 1000),
            )
      const impersonation: PlannedImpersonation = {
        actor,
        subject,
        grant,
        reason: random.pick(REASONS),
        ticketUrl:
          random.next() < 0.6
            ? `https://support.example.com/tickets/${random.int(40_000, 49_999)}`
            : null,
        startedAt,
        expiresAt,
        endedAt,
        endReason,
        endedById:
          endReason === "EXPIRED"
            ? null
            : endReason === "ENDED_BY_ADMIN"
            ? superadmin!.id
            : actor.id,
      }
      const organizationId = grant.kind === "ORGANIZATION" ? grant.organizationId : null
      events.push({
        at: startedAt,
        actorEmail: adminEmail,
        impersonation,
        entry: {
          action: "IMPERSONATION_STARTED",
          actorId: actor.id,
          subjectId: subject.id,
          impersonationId: null,
          organizationId,
          details: {
            reason: impersonation.reason,
            ticketUrl: impersonation.ticketUrl,
            mode: "READ_ONLY",
            grant,
            expiresAt: expiresAt.toISOString(),
            handBackToActor: true,
            actorTokenId: null,
            [DEMO_HISTORY_MARK]: true,
          },
        },
      })
      events.push({
        at: endedAt,
        actorEmail: endReason === "ENDED_BY_ADMIN" ? superadmin!.email : adminEmail,
        impersonation,
        entry: {
          action: "IMPERSONATION_ENDED",
          actorId: actor.id,
          subjectId: subject.id,
          impersonationId: null,
          organizationId,
          details: {
            endReason,
            endedById: impersonation.endedById,
            endedAt: endedAt.toISOString(),
            reason: impersonation.reason,
            ticketUrl: impersonation.ticketUrl,
            mode: "READ_ONLY",
            [DEMO_HISTORY_MARK]: true,
          },
        },
      })
    }
  }
  // Stable: an impersonation's start stays before its end when both fall in the same millisecond.
  return events.sort((a, b) => a.at.getTime() - b.at.getTime())
}

export type DemoHistoryResult = { impersonations: number; events: number } | { skipped: string }

/** Adds the demo month once; a second run finds the marked events and adds nothing. */
export async function seedDemoAuditHistory(now = new Date()): Promise<DemoHistoryResult> {
  const rows = await db.user.findMany({
    where: { email: { in: DEMO_USERS.map((demo) => demo.email) } },
    ...userForPolicy,
  })
  const people = rows.map((row) => ({ ...toPolicyUser(row), email: row.email }))
  const plan = planDemoHistory(people, now, serverConfig.impersonation.ttlSeconds)
  const result = await db.$transaction(
    async (tx): Promise<DemoHistoryResult> => {
      // Two seeds at once (two instances on one server) would both find no history: one waits.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${DEMO_HISTORY_LOCK})`
      const previous = await tx.$queryRaw<unknown[]>`
        SELECT 1 FROM "AuditEvent" WHERE ("details" ->> ${DEMO_HISTORY_MARK}) IS NOT NULL LIMIT 1`
      if (previous.length) return { skipped: "already seeded" }
      const ids = new Map<PlannedImpersonation, number>()
      const seededEventIds: number[] = []
      for (const event of plan) {
        const planned = event.impersonation
        if (planned && !ids.has(planned)) {
          const row = await tx.impersonation.create({
            data: {
              actorId: planned.actor.id,
              subjectId: planned.subject.id,
              organizationId:
                planned.grant.kind === "ORGANIZATION" ? planned.grant.organizationId : null,
              reason: planned.reason,
              ticketUrl: planned.ticketUrl,
              mode: "READ_ONLY",
              startedAt: planned.startedAt,
              expiresAt: planned.expiresAt,
              endedAt: planned.endedAt,
              endReason: planned.endReason,
              endedById: planned.endedById,
            },
          })
          ids.set(planned, row.id)
        }
        const device = ADMIN_DEVICES[event.actorEmail] ?? { ip: null, userAgent: null }
        const entry = { ...event.entry, impersonationId: planned ? ids.get(planned)! : null }
        const meta = {
          ...device,
          requestId: null,
          cookieHeader: null,
          responseCookies: [],
          origin: null,
        }
        const recorded = await runWithRequestMeta(meta, () => recordAuditEvent(tx, entry, event.at))
        seededEventIds.push(recorded.id)
      }
      // Sealed here, in the seed's own transaction, so that what sealing queues (receipts,
      // webhooks) can be taken back before anyone sees it: made-up history notifies nobody.
      // The app's own sealer (sealSoon, after each recordAuditEvent above) may hold the seal lock
      // for a pass that cannot see these uncommitted rows: wait for it, briefly.
      const giveUpAt = Date.now() + 10_000
      for (;;) {
        const pass = await sealInTransaction(tx)
        if (pass.busy) {
          if (Date.now() > giveUpAt) {
            throw new Error("Another process is sealing the audit log; run the seed again")
          }
          await new Promise((resolve) => setTimeout(resolve, 20))
          continue
        }
        if (pass.read < SEAL_BATCH) break
      }
      await tx.outboxMessage.deleteMany({ where: { status: "PENDING", impersonationId: null, auditEventId: { in: seededEventIds } } })
      return { impersonations: ids.size, events: plan.length }
    },
    { maxWait: 30_000, timeout: 300_000 },
  )
  // The seed process exits right after: write the checkpoint now rather than on a timer.
  if (!("skipped" in result)) await flushAuditCheckpoint()
  console.log(
    "skipped" in result
      ? `Demo audit history: ${result.skipped}.`
      : `Demo audit history: ${result.impersonations} ended impersonations over the last ` +
          `${DAYS} days, ${result.events} audit events.`,
  )
  return result
}

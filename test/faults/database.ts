import fs from "node:fs"

/**
 * The database side of `npm run faults`, run as its own process so that the embedded database
 * is opened exactly as a restarted app would open it (its lock taken over from the killed
 * server, its WAL recovered), and on whichever engine the environment names:
 *
 *   tsx test/faults/database.ts seed <out.json>       admins and the users they impersonate
 *   tsx test/faults/database.ts inspect <seen.json>   what the database holds against what
 *                                                     the clients were told; JSON on stdout
 */

export const FAULTS_PASSWORD = "faults-password-1"

export type People = { admins: { id: number; email: string }[]; subjects: { id: number; email: string }[] }

/** What the clients were answered OK before a kill (impersonation ids). */
export type Seen = { started: number[]; stopped: number[]; mustBeEnded: number[] }

export type Inspection = {
  impersonations: number
  events: number
  live: { id: number; actorId: number; expiresAt: string }[]
  /** Started OK for a client, but no IMPERSONATION_STARTED event for it. */
  startsWithoutEvent: number[]
  /** Stopped OK for a client, but the row is not ended as STOPPED or has no IMPERSONATION_ENDED event. */
  stopsWithoutEvent: number[]
  /** Rows without exactly one started event, ended rows without exactly one ended event. */
  rowsWithWrongEvents: number[]
  /**
   * Ended, yet a session still names the impersonation (with the end's reason). By design only
   * until that session's next request, which hands it back or signs it out (the guard); a Stop
   * removes its session's link in the end's own transaction, so a STOPPED one never has one.
   */
  endedWithSession: { id: number; endReason: string | null }[]
  /** Actors with more than one live impersonation. */
  actorsWithTwoLive: number[]
  /** Live impersonations whose limit is later than start + IMPERSONATION_TTL_SECONDS. */
  beyondLimit: number[]
  /** Ids the run expected the guard to have ended (expired, then a request) that are not EXPIRED. */
  notEndedAtNextRequest: number[]
}

async function seed(out: string, admins: number) {
  const { default: db } = await import("db")
  const { SecurePassword } = await import("@blitzjs/auth/secure-password")
  const hashedPassword = await SecurePassword.hash(FAULTS_PASSWORD)
  const person = (label: string, role: "USER" | "SUPPORT") =>
    db.user.create({ data: { email: `${label}@faults.example`, name: `Faults ${label}`, hashedPassword, role }, select: { id: true, email: true } })
  const people: People = { admins: [], subjects: [] }
  for (let i = 0; i < admins; i++) {
    people.admins.push(await person(`admin-${i}`, "SUPPORT"))
    people.subjects.push(await person(`user-${i}`, "USER"))
  }
  fs.writeFileSync(out, JSON.stringify(people))
  await db.$disconnect()
}

async function inspect(seenFile: string): Promise<Inspection> {
  const seen = JSON.parse(fs.readFileSync(seenFile, "utf8")) as Seen
  const { default: db } = await import("db")
  const ttlMs = Number(process.env.IMPERSONATION_TTL_SECONDS) * 1000
  const rows = await db.impersonation.findMany({
    select: { id: true, actorId: true, startedAt: true, expiresAt: true, endedAt: true, endReason: true, session: { select: { id: true } } },
    orderBy: { id: "asc" },
  })
  const events = await db.auditEvent.findMany({
    where: { action: { in: ["IMPERSONATION_STARTED", "IMPERSONATION_ENDED"] } },
    select: { action: true, impersonationId: true },
  })
  const count = (action: string, id: number) => events.filter((e) => e.action === action && e.impersonationId === id).length
  const byId = new Map(rows.map((r) => [r.id, r]))
  const live = rows.filter((r) => r.endedAt === null)
  const liveByActor = new Map<number, number>()
  for (const r of live) liveByActor.set(r.actorId, (liveByActor.get(r.actorId) ?? 0) + 1)
  const result: Inspection = {
    impersonations: rows.length,
    events: await db.auditEvent.count(),
    live: live.map((r) => ({ id: r.id, actorId: r.actorId, expiresAt: r.expiresAt.toISOString() })),
    startsWithoutEvent: seen.started.filter((id) => !byId.has(id) || count("IMPERSONATION_STARTED", id) !== 1),
    stopsWithoutEvent: seen.stopped.filter(
      (id) => byId.get(id)?.endReason !== "STOPPED" || count("IMPERSONATION_ENDED", id) !== 1,
    ),
    rowsWithWrongEvents: rows
      .filter((r) => count("IMPERSONATION_STARTED", r.id) !== 1 || count("IMPERSONATION_ENDED", r.id) !== (r.endedAt ? 1 : 0))
      .map((r) => r.id),
    endedWithSession: rows.filter((r) => r.endedAt !== null && r.session !== null).map((r) => ({ id: r.id, endReason: r.endReason })),
    actorsWithTwoLive: [...liveByActor].filter(([, n]) => n > 1).map(([actorId]) => actorId),
    beyondLimit: live.filter((r) => r.expiresAt.getTime() - r.startedAt.getTime() > ttlMs).map((r) => r.id),
    notEndedAtNextRequest: seen.mustBeEnded.filter((id) => byId.get(id)?.endReason !== "EXPIRED"),
  }
  await db.$disconnect()
  return result
}

async function main() {
  const [mode, file, extra] = process.argv.slice(2)
  if (!file) throw new Error("usage: database.ts seed <out.json> [admins] | inspect <seen.json>")
  if (mode === "seed") await seed(file, Number(extra ?? 6))
  else if (mode === "inspect") console.log(JSON.stringify(await inspect(file)))
  else throw new Error(`unknown mode ${mode}`)
  const { engine } = await import("db")
  if (engine.kind === "pglite") await (await import("db/engine")).closeEmbedded(engine.dataDir)
}

if (process.argv[1]?.endsWith("database.ts")) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error)
    process.exitCode = 1
  })
}

import fs from "node:fs"
import path from "node:path"
import { z } from "zod"
import db, { type AuditEvent } from "db"
import { engineFromEnv } from "db/engine"
import { log } from "app/core/log"
import { serverConfig } from "app/core/serverConfig"
import { legacyAuditHash, sealAuditEvent } from "./hash"
import { auditKey, type AuditKey } from "./key"

/**
 * A checkpoint is the chain's tail as seen at one time, kept OUTSIDE the database (a file and
 * the server log): whoever rewrites the table cannot make it match, nor hide deleted last rows.
 */
export const AuditCheckpoint = z.object({
  lastId: z.number().int(),
  hash: z.string(),
  count: z.number().int(),
  at: z.string(),
  keyId: z.string().nullable(),
  /** The first row sealed with a key: unkeyed rows from here on are a downgrade. */
  keyedFromId: z.number().int().nullable(),
})
export type AuditCheckpoint = z.infer<typeof AuditCheckpoint>

/** AUDIT_CHECKPOINT_FILE, else one per embedded data folder, beside it (none in memory). */
export function checkpointFilePath(): string | null {
  if (serverConfig.audit.checkpointFile) return path.resolve(serverConfig.audit.checkpointFile)
  const engine = engineFromEnv()
  if (engine.kind === "postgres")
    return path.join(process.cwd(), ".data", "audit-checkpoints.jsonl")
  if (engine.dataDir === "memory://") return null
  return `${engine.dataDir}.audit-checkpoints.jsonl`
}

// Only the file's end is read; checkpoints from several instances may interleave.
const TAIL_BYTES = 64 * 1024

/** The JSON values on the last lines of a file (at most `bytes` of it); [] when it does not exist. */
export function readJsonTail(file: string, bytes = TAIL_BYTES): unknown[] {
  let fd: number
  try {
    fd = fs.openSync(file, "r")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return []
    throw error
  }
  try {
    const size = fs.fstatSync(fd).size
    const length = Math.min(size, bytes)
    const buffer = Buffer.alloc(length)
    fs.readSync(fd, buffer, 0, length, size - length)
    return buffer.toString("utf8").split("\n").map(safeJson)
  } finally {
    fs.closeSync(fd)
  }
}

/** The checkpoint that reaches furthest among the file's last lines; null when there is none. */
export function readLastCheckpoint(file: string): AuditCheckpoint | null {
  let best: AuditCheckpoint | null = null
  for (const json of readJsonTail(file)) {
    const parsed = AuditCheckpoint.safeParse(json)
    // The longest chain seen: the chain runs in sealing order, which ids need not follow.
    if (parsed.success && (!best || parsed.data.count > best.count)) best = parsed.data
  }
  return best
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    return null // a partial first line of the tail, or a line cut short by a crash
  }
}

export type ChainFailure =
  | "EDITED"
  | "UNLINKED"
  | "DOWNGRADED"
  | "WRONG_KEY"
  | "MISSING_TAIL"
  | "UNSEALED"

/** An event still unsealed this long after its insert means no sealer runs (or a forged row). */
export const SEAL_GRACE_MS = 5 * 60 * 1000

type ChainSummary = {
  events: number
  lastId: number | null
  lastAt: Date | null
  /** Rows hashed without a key before keys existed; accepted only as the chain's prefix. */
  legacyEvents: number
  keyId: string
  checkpoint: AuditCheckpoint | null
  /** Events recorded within the grace and not sealed yet: not part of the chain walked. */
  pending: number
}

export type ChainVerdict =
  | ({ ok: true } & ChainSummary)
  | ({
      ok: false
      failure: ChainFailure
      brokenAtId: number | null
      problem: string
    } & ChainSummary)

type AuditClient = Pick<typeof db, "auditEvent">
type ChainOptions = {
  client?: AuditClient
  key?: AuditKey
  checkpointFile?: string | null
  now?: Date
  sealGraceMs?: number
}

type WalkStart = { afterPosition: number; prevHash: string | null; count: number; keyed: boolean }
type Walk = {
  events: number
  legacyEvents: number
  last: Pick<AuditEvent, "id" | "hash" | "at" | "keyId" | "chainPosition"> | null
  firstKeyedId: number | null
  /** The hash found at `watchId`, if that row exists. */
  watchedHash: string | null
  broken: { failure: ChainFailure; id: number; problem: string } | null
}

/** Recomputes every seal after `start`, in chain order, stopping at the first bad event. */
async function walkChain(
  client: AuditClient,
  key: AuditKey,
  start: WalkStart,
  keyedFromId: number | null,
  watchId: number | null,
): Promise<Walk> {
  const walk: Walk = {
    events: start.count,
    legacyEvents: 0,
    last: null,
    firstKeyedId: null,
    watchedHash: null,
    broken: null,
  }
  let { prevHash, keyed } = start
  let cursor = start.afterPosition
  for (;;) {
    const batch = await client.auditEvent.findMany({
      where: { chainPosition: { gt: cursor } },
      orderBy: { chainPosition: "asc" },
      take: 1000,
    })
    if (batch.length === 0) return walk
    for (const row of batch) {
      const fields = { ...row, details: row.details as Record<string, unknown> }
      const fail = (failure: ChainFailure, problem: string) => {
        walk.broken = { failure, id: row.id, problem: `event #${row.id} ${problem}` }
        return walk
      }
      if (row.id === watchId) walk.watchedHash = row.hash
      if (row.keyId === null) {
        if (keyed || (keyedFromId !== null && row.id >= keyedFromId)) {
          return fail("DOWNGRADED", "is in the unkeyed legacy format after keyed events: rewritten")
        }
        if (row.hash !== legacyAuditHash(prevHash, fields))
          return fail("EDITED", "does not match its hash: edited")
        walk.legacyEvents++
      } else {
        if (row.keyId !== key.id) {
          return fail(
            "WRONG_KEY",
            `is sealed with key id ${row.keyId}, not with the configured AUDIT_HMAC_KEY (key id ` +
              `${key.id}): the key is wrong, or the event was rewritten`,
          )
        }
        if (row.hash !== sealAuditEvent(key, prevHash, fields)) {
          return fail("EDITED", "does not match its seal: edited or re-sealed without the key")
        }
        keyed = true
        walk.firstKeyedId ??= row.id
      }
      if (row.prevHash !== prevHash) {
        return fail("UNLINKED", "does not link to the event before it: events removed or inserted")
      }
      const position = row.chainPosition ?? 0
      if (position !== cursor + 1) {
        return fail("UNLINKED", `is at chain position ${position}, not ${cursor + 1}: events moved`)
      }
      prevHash = row.hash
      cursor = position
      walk.events++
      walk.last = row
    }
  }
}

function wrongKeyProblem(key: AuditKey, checkpoint: AuditCheckpoint) {
  return (
    `The configured AUDIT_HMAC_KEY (key id ${key.id}) is not the key that sealed this chain ` +
    `(key id ${checkpoint.keyId}, per the checkpoint of ${checkpoint.at})`
  )
}

/**
 * Walks the whole chain with the key and compares it with the last checkpoint: every seal must
 * hold, and the checkpointed event must still be there with the same hash.
 */
export async function verifyAuditChain(options: ChainOptions = {}): Promise<ChainVerdict> {
  const client = options.client ?? db
  const key = options.key ?? auditKey()
  const file = options.checkpointFile === undefined ? checkpointFilePath() : options.checkpointFile
  const checkpoint = file ? readLastCheckpoint(file) : null
  const now = options.now ?? new Date()
  const graceStart = new Date(now.getTime() - (options.sealGraceMs ?? SEAL_GRACE_MS))
  let pending = 0
  const summary = (walk: Walk | null): ChainSummary => ({
    events: walk?.events ?? 0,
    lastId: walk?.last?.id ?? null,
    lastAt: walk?.last?.at ?? null,
    legacyEvents: walk?.legacyEvents ?? 0,
    keyId: key.id,
    checkpoint,
    pending,
  })
  if (checkpoint?.keyId && checkpoint.keyId !== key.id) {
    const problem = wrongKeyProblem(key, checkpoint)
    return { ok: false, failure: "WRONG_KEY", brokenAtId: null, problem, ...summary(null) }
  }
  const start = { afterPosition: 0, prevHash: null, count: 0, keyed: false }
  const walk = await walkChain(
    client,
    key,
    start,
    checkpoint?.keyedFromId ?? null,
    checkpoint?.lastId ?? null,
  )
  if (walk.broken) {
    const { failure, id, problem } = walk.broken
    return { ok: false, failure, brokenAtId: id, problem, ...summary(walk) }
  }
  if (checkpoint) {
    const lastId = walk.last?.id ?? 0
    const missing = (problem: string): ChainVerdict => ({
      ok: false,
      failure: "MISSING_TAIL",
      brokenAtId: checkpoint.lastId,
      problem,
      ...summary(walk),
    })
    const recorded = `the checkpoint of ${checkpoint.at} records event #${checkpoint.lastId} (${checkpoint.count} events)`
    if (walk.watchedHash === null && walk.events < checkpoint.count) {
      return missing(
        `Missing tail: ${recorded}, but the chain ends at event #${lastId} (${walk.events} events)`,
      )
    }
    if (walk.watchedHash !== checkpoint.hash) {
      return missing(
        `Rewritten: ${recorded}, but that event is ${walk.watchedHash ? "different" : "gone"}`,
      )
    }
    if (walk.events < checkpoint.count) {
      return missing(`Events missing: ${recorded}, but the chain has only ${walk.events}`)
    }
  }
  // Unsealed events are not in the chain yet: recent ones are pending, old ones a fault.
  const stale = await client.auditEvent.findFirst({
    where: { chainPosition: null, recordedAt: { lt: graceStart } },
    orderBy: { id: "asc" },
    select: { id: true, recordedAt: true },
  })
  if (stale) {
    const unsealed = await client.auditEvent.count({ where: { chainPosition: null } })
    return {
      ok: false,
      failure: "UNSEALED",
      brokenAtId: stale.id,
      problem:
        `event #${stale.id}, recorded at ${stale.recordedAt.toISOString()}, is still not sealed ` +
        `(${unsealed} events unsealed): no sealer is running, or the event lacks the writer's ` +
        "content MAC (inserted behind the app's back)",
      ...summary(walk),
    }
  }
  pending = await client.auditEvent.count({ where: { chainPosition: null } })
  return { ok: true, ...summary(walk) }
}

export class AuditChainBrokenError extends Error {
  name = "AuditChainBrokenError"
}

/**
 * Appends the chain's committed tail to the checkpoint file, after verifying the events since
 * the previous checkpoint, so that a checkpoint never seals a history rewritten in between.
 * Returns the checkpoint now in force (null: no file configured, or no events yet).
 */
export async function writeAuditCheckpoint(
  options: ChainOptions = {},
): Promise<AuditCheckpoint | null> {
  const client = options.client ?? db
  const key = options.key ?? auditKey()
  const file = options.checkpointFile === undefined ? checkpointFilePath() : options.checkpointFile
  if (!file) return null
  const previous = readLastCheckpoint(file)
  if (previous?.keyId && previous.keyId !== key.id)
    throw new AuditChainBrokenError(wrongKeyProblem(key, previous))
  let start: WalkStart = { afterPosition: 0, prevHash: null, count: 0, keyed: false }
  if (previous) {
    const row = await client.auditEvent.findUnique({ where: { id: previous.lastId } })
    if (row?.hash !== previous.hash) {
      throw new AuditChainBrokenError(
        `event #${previous.lastId} of the checkpoint of ${previous.at} is ${
          row ? "different" : "gone"
        }`,
      )
    }
    if (row.chainPosition === null) {
      throw new AuditChainBrokenError(
        `event #${previous.lastId} of the checkpoint of ${previous.at} is no longer in the chain`,
      )
    }
    start = {
      afterPosition: row.chainPosition,
      prevHash: row.hash,
      count: previous.count,
      keyed: row.keyId !== null,
    }
  }
  const walk = await walkChain(client, key, start, previous?.keyedFromId ?? null, null)
  if (walk.broken) throw new AuditChainBrokenError(walk.broken.problem)
  if (!walk.last) return previous
  const checkpoint: AuditCheckpoint = {
    lastId: walk.last.id,
    hash: walk.last.hash ?? "", // sealed rows always have one
    count: walk.events,
    at: new Date().toISOString(),
    keyId: walk.last.keyId,
    keyedFromId: previous?.keyedFromId ?? walk.firstKeyedId,
  }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  // One short line per append: O_APPEND keeps lines from several instances whole.
  fs.appendFileSync(file, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600 })
  log.info({ auditCheckpoint: checkpoint }, "Audit checkpoint")
  return checkpoint
}

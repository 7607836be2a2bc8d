import fs from "node:fs"
import path from "node:path"
import { z } from "zod"
import db from "db"
import { log } from "app/core/log"
import {
  AuditChainBrokenError,
  checkpointFilePath,
  readJsonTail,
  verifyAuditChain,
  writeAuditCheckpoint,
  type ChainVerdict,
} from "./chain"

/**
 * The audit chain's state for the console, without walking a million rows per page view:
 * - every view verifies the events since the last checkpoint (`writeAuditCheckpoint`: the
 *   checkpointed event must still carry its hash, every later seal must hold). A checkpoint was
 *   itself written only after the same check, so by induction the chain up to it held then;
 * - an edit to an event before the last checkpoint breaks only that event's seal, which only a
 *   whole walk (`verifyAuditChain`, as `npm run audit:verify`) sees: each walk's result is
 *   recorded beside the checkpoints, shown with its time, and the console starts one in the
 *   background when the last is older than FULL_WALK_MAX_AGE_MS.
 */

export const FULL_WALK_MAX_AGE_MS = 24 * 60 * 60 * 1000

export const FullWalkRecord = z.object({
  /** When the walk finished. */
  at: z.string(),
  ok: z.boolean(),
  events: z.number().int(),
  lastId: z.number().int().nullable(),
  lastAt: z.string().nullable(),
  problem: z.string().nullable(),
  /** Who ran it: the command line (`npm run audit:verify`) or the console's background walk. */
  source: z.enum(["audit:verify", "console"]),
})
export type FullWalkRecord = z.infer<typeof FullWalkRecord>

type ChainOptions = NonNullable<Parameters<typeof verifyAuditChain>[0]>

/** Beside the checkpoint file; null when there is none (an in-memory database). */
export function fullWalkFilePath(checkpointFile = checkpointFilePath()): string | null {
  return checkpointFile ? `${checkpointFile.replace(/\.jsonl$/, "")}.full-walks.jsonl` : null
}

const TAIL_BYTES = 16 * 1024

/** The most recent whole-chain walk on record, or null. */
export function readLastFullWalk(file: string | null): FullWalkRecord | null {
  if (!file) return null
  let latest: FullWalkRecord | null = null
  for (const json of readJsonTail(file, TAIL_BYTES)) {
    const parsed = FullWalkRecord.safeParse(json)
    if (parsed.success && (!latest || parsed.data.at >= latest.at)) latest = parsed.data
  }
  return latest
}

/** Appends a walk's result; returns it. */
export function recordFullWalk(
  verdict: ChainVerdict,
  source: FullWalkRecord["source"],
  file = fullWalkFilePath(),
): FullWalkRecord {
  const record: FullWalkRecord = {
    at: new Date().toISOString(),
    ok: verdict.ok,
    events: verdict.events,
    lastId: verdict.lastId,
    lastAt: verdict.lastAt?.toISOString() ?? null,
    problem: verdict.ok ? null : verdict.problem,
    source,
  }
  if (file) {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.appendFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600 })
  }
  return record
}

let running: Promise<FullWalkRecord> | null = null

/** Walks the whole chain (one walk per process at a time) and records the result. */
export function runFullWalk(options: ChainOptions = {}): Promise<FullWalkRecord> {
  running ??= (async () => {
    const file =
      options.checkpointFile === undefined ? checkpointFilePath() : options.checkpointFile
    const verdict = await verifyAuditChain(options)
    const record = recordFullWalk(verdict, "console", fullWalkFilePath(file))
    if (!record.ok) log.error({ auditChain: record }, "Audit chain broken")
    return record
  })().finally(() => {
    running = null
  })
  return running
}

export type AuditChainState = {
  /** The last event verified now, or null when the log is empty (or the chain is broken). */
  verifiedUpTo: { id: number; at: string; events: number } | null
  /** What is wrong, in words; null when the chain holds. */
  broken: string | null
  lastFullWalk: FullWalkRecord | null
  /** No walk on record, or the last is older than FULL_WALK_MAX_AGE_MS. */
  fullWalkDue: boolean
  fullWalkRunning: boolean
}

export async function auditChainState(
  options: ChainOptions = {},
  now = new Date(),
): Promise<AuditChainState> {
  const client = options.client ?? db
  const file = options.checkpointFile === undefined ? checkpointFilePath() : options.checkpointFile
  const lastFullWalk = readLastFullWalk(fullWalkFilePath(file))
  const fullWalkDue =
    file !== null &&
    (!lastFullWalk || now.getTime() - new Date(lastFullWalk.at).getTime() > FULL_WALK_MAX_AGE_MS)
  const state = { lastFullWalk, fullWalkDue, fullWalkRunning: running !== null }
  let tail: { id: number; events: number } | null
  try {
    if (file) {
      const checkpoint = await writeAuditCheckpoint({ ...options, checkpointFile: file })
      tail = checkpoint && { id: checkpoint.lastId, events: checkpoint.count }
    } else {
      // No checkpoint file (an in-memory database, small by nature): the whole walk it is.
      const verdict = await verifyAuditChain({ ...options, checkpointFile: null })
      if (!verdict.ok) throw new AuditChainBrokenError(verdict.problem)
      tail = verdict.lastId === null ? null : { id: verdict.lastId, events: verdict.events }
    }
  } catch (error) {
    const problem =
      error instanceof AuditChainBrokenError
        ? error.message
        : `the chain could not be verified (${
            error instanceof Error ? error.message : String(error)
          })`
    if (!(error instanceof AuditChainBrokenError))
      log.error({ err: error }, "Audit chain not verified")
    return { verifiedUpTo: null, broken: problem, ...state }
  }
  if (lastFullWalk && !lastFullWalk.ok) {
    return {
      verifiedUpTo: null,
      broken: `${lastFullWalk.problem} (whole-chain walk of ${lastFullWalk.at})`,
      ...state,
    }
  }
  if (!tail) return { verifiedUpTo: null, broken: null, ...state }
  const event = await client.auditEvent.findUnique({ where: { id: tail.id }, select: { at: true } })
  return {
    verifiedUpTo: { id: tail.id, at: event?.at.toISOString() ?? "", events: tail.events },
    broken: null,
    ...state,
  }
}

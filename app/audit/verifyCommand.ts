import db, { engine } from "db"
import { closeEmbedded, describeEngine } from "db/engine"
import { checkpointFilePath, verifyAuditChain, type ChainVerdict } from "./chain"
import { recordFullWalk } from "./chainState"
import { sealPendingAuditEvents, stopAuditSealing } from "./sealer"

/** One line for people: what was verified, up to where, against which checkpoint. */
export function describeVerdict(verdict: ChainVerdict): string {
  const { checkpoint } = verdict
  if (!verdict.ok) return `Audit chain BROKEN: ${verdict.problem}.`
  const upTo =
    verdict.lastId === null
      ? ""
      : `, up to event #${verdict.lastId} at ${verdict.lastAt?.toISOString()}`
  const legacy = verdict.legacyEvents
    ? ` (${verdict.legacyEvents} legacy unkeyed events first)`
    : ""
  const against = checkpoint
    ? `matches the checkpoint of ${checkpoint.at} (event #${checkpoint.lastId}, ${checkpoint.count} events)`
    : "no checkpoint yet to compare with"
  const pending = verdict.pending ? ` ${verdict.pending} recent events are not sealed yet.` : ""
  return `Audit chain verified: ${verdict.events} events${upTo}${legacy}, key id ${verdict.keyId}, ${against}.${pending}`
}

async function main() {
  const file = checkpointFilePath()
  console.log(
    `Verifying the audit chain in ${describeEngine(engine)}; checkpoints: ${file ?? "none"}`,
  )
  // Events committed but not sealed yet (by this or any instance) join the chain first.
  try {
    const { sealed, busy } = await sealPendingAuditEvents()
    if (sealed.length > 0) console.log(`Sealed ${sealed.length} pending events first.`)
    if (busy) console.log("Another instance is sealing; its pending events are reported as such.")
  } catch (error) {
    // The verdict below says what is wrong (a wrong key, events left unsealed).
    console.error(error instanceof Error ? error.message : String(error))
  }
  const verdict = await verifyAuditChain()
  recordFullWalk(verdict, "audit:verify") // the console shows when the whole chain was last walked
  if (verdict.ok) console.log(describeVerdict(verdict))
  else console.error(describeVerdict(verdict))
  process.exitCode = verdict.ok ? 0 : 1
}

if (process.argv[1]?.endsWith("verifyCommand.ts")) {
  main()
    .catch((error: unknown) => {
      console.error(`Audit chain not verified: ${error instanceof Error ? error.message : error}`)
      process.exitCode = 2
    })
    .finally(async () => {
      await stopAuditSealing()
      await db.$disconnect()
      if (engine.kind === "pglite") await closeEmbedded(engine.dataDir)
    })
}

import db, { engine } from "db"
import { closeEmbedded, describeEngine } from "db/engine"
import { checkpointFilePath, verifyAuditChain, type ChainVerdict } from "./chain"
import { recordFullWalk } from "./chainState"

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
  return `Audit chain verified: ${verdict.events} events${upTo}${legacy}, key id ${verdict.keyId}, ${against}.`
}

async function main() {
  const file = checkpointFilePath()
  console.log(
    `Verifying the audit chain in ${describeEngine(engine)}; checkpoints: ${file ?? "none"}`,
  )
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
      await db.$disconnect()
      if (engine.kind === "pglite") await closeEmbedded(engine.dataDir)
    })
}

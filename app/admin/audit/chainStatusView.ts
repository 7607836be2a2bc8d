import type { AuditChainState } from "app/audit/chainState"

export function formatTime(iso: string) {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`
}

export type ChainStatusView = {
  broken: boolean
  /** The verdict line. */
  status: string
  /** The whole-chain walk line. */
  walk: string
}

/**
 * What the audit page says about the chain. Event ids and counts are the whole platform's: a
 * viewer who sees only their organizations gets the verdict and its time, nothing more.
 */
export function chainStatusView(
  chain: AuditChainState,
  wholePlatform: boolean,
  now = new Date(),
): ChainStatusView {
  const walk = chain.lastFullWalk
  const running =
    chain.fullWalkRunning || chain.fullWalkDue ? "; one is running in the background now" : ""
  if (!wholePlatform) {
    const checked = formatTime(now.toISOString())
    return {
      broken: chain.broken !== null,
      status: chain.broken
        ? `Audit chain BROKEN (checked at ${checked}). Platform staff see the details.`
        : `Audit chain verified at ${checked}.`,
      walk: `Whole-chain walk: ${
        walk ? `last ${walk.ok ? "passed" : "FAILED"} at ${formatTime(walk.at)}` : "not run yet"
      }${running}.`,
    }
  }
  return {
    broken: chain.broken !== null,
    status: chain.broken
      ? `Audit chain BROKEN: ${chain.broken}`
      : chain.verifiedUpTo
      ? `Verified up to event #${chain.verifiedUpTo.id} at ${formatTime(chain.verifiedUpTo.at)} (${
          chain.verifiedUpTo.events
        } events).`
      : "No events yet.",
    walk: `Whole-chain walk: ${
      walk
        ? `last ${walk.ok ? "passed" : "FAILED"} at ${formatTime(walk.at)} (${
            walk.events
          } events, run by ${walk.source === "console" ? "the console" : "npm run audit:verify"})`
        : "not run yet"
    }${running}.`,
  }
}

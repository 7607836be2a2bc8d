import { serverConfig } from "app/core/serverConfig"

/**
 * How many CSV exports run at once in this process. Each PostgreSQL export holds a connection
 * of its own for as long as the download lasts: without a cap, slow downloads could take every
 * connection the database server has.
 */

const running = new Map<number, number>()
let total = 0

export const EXPORT_BUSY_MESSAGE = "Another export is running; try again when it has finished."

/** A slot for `userId`'s export, or null when the limits are reached. Release it exactly once. */
export function acquireExportSlot(
  userId: number,
  limits = {
    overall: serverConfig.audit.exportMaxConcurrent,
    perUser: serverConfig.audit.exportMaxPerUser,
  },
): (() => void) | null {
  const mine = running.get(userId) ?? 0
  if (total >= limits.overall || mine >= limits.perUser) return null
  total += 1
  running.set(userId, mine + 1)
  let released = false
  return () => {
    if (released) return
    released = true
    total -= 1
    const left = (running.get(userId) ?? 1) - 1
    if (left > 0) running.set(userId, left)
    else running.delete(userId)
  }
}

/** Exports holding a slot now (tests check that every ending gives its slot back). */
export function runningExports(): number {
  return total
}

/**
 * The sign-in throttle's rules, as pure functions (no database, no clock: pass `now`). One
 * state per key: an email address (known or not, so timing tells nothing) or a client IP.
 */
export type ThrottleState = { failures: number; windowStartedAt: Date; lockedUntil: Date | null }
export type ThrottleLimits = { maxFailures: number; windowMs: number; maxLockMs: number }

/** The first lock; each further failure doubles it, up to `maxLockMs`. */
export const FIRST_LOCK_MS = 60_000

/** Milliseconds until this key may try again; 0 when it may now. */
export function lockRemainingMs(state: ThrottleState | null, now: Date): number {
  if (!state?.lockedUntil) return 0
  return Math.max(0, state.lockedUntil.getTime() - now.getTime())
}

/**
 * The state after one more failure. Failures are forgotten after a whole window without
 * failures or locks, so a steady guesser stays at the longest lock instead of starting over.
 */
export function afterFailure(state: ThrottleState | null, now: Date, limits: ThrottleLimits): ThrottleState {
  const quietSince = Math.max(state?.windowStartedAt.getTime() ?? 0, state?.lockedUntil?.getTime() ?? 0)
  if (!state || now.getTime() - quietSince >= limits.windowMs) {
    return afterFailure({ failures: 0, windowStartedAt: now, lockedUntil: null }, now, limits)
  }
  const failures = state.failures + 1
  const over = failures - limits.maxFailures
  if (over < 0) return { ...state, failures }
  const lockMs = Math.min(FIRST_LOCK_MS * 2 ** Math.min(over, 30), limits.maxLockMs)
  return { ...state, failures, lockedUntil: new Date(now.getTime() + lockMs) }
}

/** What the person reads when a lock refuses their sign-in. */
export function throttledMessage(remainingMs: number): string {
  const minutes = Math.max(1, Math.ceil(remainingMs / 60_000))
  return `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`
}

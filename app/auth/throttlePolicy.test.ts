import { describe, expect, it } from "vitest"
import { FIRST_LOCK_MS, type ThrottleState, afterFailure, lockRemainingMs, throttledMessage } from "./throttlePolicy"

const limits = { maxFailures: 5, windowMs: 15 * 60_000, maxLockMs: 15 * 60_000 }
const t0 = new Date("2026-12-01T10:00:00Z")
const at = (ms: number) => new Date(t0.getTime() + ms)

function fail(times: number, state: ThrottleState | null = null, now = t0) {
  for (let i = 0; i < times; i++) state = afterFailure(state, now, limits)
  return state!
}

describe("afterFailure", () => {
  it("counts failures without a lock below the threshold", () => {
    const state = fail(4)
    expect(state).toEqual({ failures: 4, windowStartedAt: t0, lockedUntil: null })
    expect(lockRemainingMs(state, t0)).toBe(0)
  })

  it("locks at the threshold, doubling with each further failure, capped", () => {
    expect(lockRemainingMs(fail(5), t0)).toBe(FIRST_LOCK_MS)
    expect(lockRemainingMs(fail(6), t0)).toBe(2 * FIRST_LOCK_MS)
    expect(lockRemainingMs(fail(7), t0)).toBe(4 * FIRST_LOCK_MS)
    expect(lockRemainingMs(fail(40), t0)).toBe(limits.maxLockMs)
  })

  it("forgets failures after a quiet window", () => {
    const state = afterFailure(fail(4), at(limits.windowMs), limits)
    expect(state).toEqual({ failures: 1, windowStartedAt: at(limits.windowMs), lockedUntil: null })
  })

  it("does not forget while locked: the window counts from the end of the lock", () => {
    const locked = fail(9) // locked for the cap, until t0 + 15 min
    const justAfterWindow = at(limits.windowMs + 1)
    const next = afterFailure(locked, justAfterWindow, limits)
    expect(next.failures).toBe(10)
    expect(lockRemainingMs(next, justAfterWindow)).toBe(limits.maxLockMs)
  })

  it("ends a lock by itself when its time is up", () => {
    expect(lockRemainingMs(fail(5), at(FIRST_LOCK_MS))).toBe(0)
    expect(lockRemainingMs(fail(5), at(FIRST_LOCK_MS - 1000))).toBe(1000)
  })
})

describe("throttledMessage", () => {
  it("says how many minutes to wait, rounded up", () => {
    expect(throttledMessage(1000)).toBe("Too many failed sign-ins. Try again in 1 minute.")
    expect(throttledMessage(4 * 60_000 + 1)).toBe("Too many failed sign-ins. Try again in 5 minutes.")
  })
})

import { SecurePassword } from "@blitzjs/auth/secure-password"
import db, { Prisma } from "db"
import { knownDeviceId } from "app/auth/knownDevice"
import {
  clearEmailFailures,
  firstRefusalOfLock,
  loginLockRemainingMs,
  loginThrottleKeys,
  recordLoginFailure,
  type ThrottleKey,
} from "app/auth/loginThrottle"
import { passwordHashToVerify } from "app/auth/mutations/login"
import { ImpersonationRefusedError } from "app/core/errors"
import { currentRequestMeta } from "app/core/requestContext"
import type { ImpersonationMode, StepUp } from "./policy"

/**
 * Rule 8's step-up: before a read-write impersonation (or a read-write actor token) the admin
 * re-enters their own password. It is checked as a sign-in checks it (SecurePassword against
 * the stored hash) and wrong ones count in the sign-in throttle, on the keys a sign-in as the
 * admin from this browser would count against, so the step-up is no free password oracle.
 */

type Tx = Prisma.TransactionClient

export const STEP_UP_THROTTLED = "STEP_UP_THROTTLED"

/** While the admin's sign-in keys are locked, no step-up password is even checked (429). */
export class StepUpThrottledError extends ImpersonationRefusedError {
  statusCode = 429
  constructor(remainingMs: number) {
    const minutes = Math.max(1, Math.ceil(remainingMs / 60_000))
    super(
      STEP_UP_THROTTLED,
      `Too many wrong passwords. Try read-write again in ${minutes} minute${minutes === 1 ? "" : "s"}, or start read-only.`,
    )
  }
}

export type StepUpCheck = {
  stepUp: StepUp
  /**
   * For a WRONG password: counts it in the throttle. Run it inside the transaction that audits
   * the refusal, so the count and the audit row are written together.
   */
  recordFailure: (tx: Tx) => Promise<void>
}

const nothing = async () => {}

/** The throttle keys of a sign-in as `email` from the browser making this request. */
function stepUpKeys(email: string): ThrottleKey[] {
  return loginThrottleKeys(email, currentRequestMeta().ip, knownDeviceId(email))
}

/**
 * Checks the step-up for `mode`. Only READ_WRITE with a password is verified; without one it
 * is MISSING (counted nowhere: it is no guess). A locked throttle refuses with
 * StepUpThrottledError before the password is looked at; `onLocked` audits the first refusal
 * of each lock (as sign-in does), so a locked flood cannot fill the audit log.
 */
export async function checkStepUp(args: {
  actorId: number
  mode: ImpersonationMode
  password: string | undefined
  onLocked: () => Promise<void>
}): Promise<StepUpCheck> {
  // Read-only needs no step-up: a password sent with it is not looked at.
  if (args.mode !== "READ_WRITE" || args.password === undefined) return { stepUp: "MISSING", recordFailure: nothing }
  const actor = await db.user.findUnique({ where: { id: args.actorId }, select: { email: true, hashedPassword: true } })
  if (!actor) return { stepUp: "WRONG", recordFailure: nothing }
  const keys = stepUpKeys(actor.email)
  const lockedMs = await loginLockRemainingMs(keys)
  if (lockedMs > 0) {
    if (await firstRefusalOfLock(keys)) await args.onLocked()
    throw new StepUpThrottledError(lockedMs)
  }
  const result = await SecurePassword.verify(await passwordHashToVerify(actor), args.password).catch(
    () => SecurePassword.INVALID,
  )
  if (result === SecurePassword.VALID || result === SecurePassword.VALID_NEEDS_REHASH) {
    // As a successful sign-in does: this browser's email key starts afresh.
    await db.$transaction((tx) => clearEmailFailures(tx, actor.email, knownDeviceId(actor.email)))
    return { stepUp: "VERIFIED", recordFailure: nothing }
  }
  return { stepUp: "WRONG", recordFailure: (tx) => recordLoginFailure(tx, keys) }
}

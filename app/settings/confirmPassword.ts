import { AuthenticationError } from "blitz"
import db from "db"
import { knownDeviceId } from "app/auth/knownDevice"
import { clearEmailFailures, loginLockRemainingMs, loginThrottleKeys, recordLoginFailure } from "app/auth/loginThrottle"
import { verifyPassword } from "app/auth/mutations/login"
import { currentRequestMeta } from "app/core/requestContext"

/** A password typed to confirm an account change did not match (nothing was changed). */
export class WrongPasswordError extends Error {
  name = "WrongPasswordError"
  statusCode = 403
  code = "WRONG_PASSWORD"
}

/** Too many wrong passwords for this account from this browser or address: not even checked. */
export class PasswordThrottledError extends Error {
  name = "PasswordThrottledError"
  statusCode = 429
  code = "THROTTLED"
  constructor(remainingMs: number) {
    const minutes = Math.max(1, Math.ceil(remainingMs / 60_000))
    super(`Too many wrong passwords. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`)
  }
}

/**
 * The signed-in user confirms a change with their own password (change password, delete
 * account). Checked exactly as sign-in checks it, and counted in the sign-in throttle on the
 * keys a sign-in as them from this browser would count against: someone holding an unlocked
 * session gets no free password oracle. Returns the user; throws when the password is wrong.
 */
export async function confirmOwnPassword(userId: number, password: string, wrongMessage: string) {
  const user = await db.user.findUnique({
    where: { id: userId },
    select: { id: true, email: true, role: true, hashedPassword: true, status: true, deletedAt: true },
  })
  if (!user || user.status !== "ACTIVE" || user.deletedAt) throw new AuthenticationError()
  const deviceId = knownDeviceId(user.email)
  const keys = loginThrottleKeys(user.email, currentRequestMeta().ip, deviceId)
  const lockedMs = await loginLockRemainingMs(keys)
  if (lockedMs > 0) throw new PasswordThrottledError(lockedMs)
  if (!(await verifyPassword(user, password))) {
    await db.$transaction((tx) => recordLoginFailure(tx, keys))
    throw new WrongPasswordError(wrongMessage)
  }
  // As a successful sign-in does: this browser's email key starts afresh.
  await db.$transaction((tx) => clearEmailFailures(tx, user.email, deviceId))
  return user
}

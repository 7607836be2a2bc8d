import { SecurePassword } from "@blitzjs/auth/secure-password"
import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import crypto from "node:crypto"
import db, { type User } from "db"
import { recordAuditEvent } from "app/audit/log"
import { currentRequestMeta } from "app/core/requestContext"
import { endSessionImpersonation } from "app/impersonation/guard"
import { recordSignIn } from "../audit"
import { knownDeviceId, rememberKnownDevice } from "../knownDevice"
import {
  SignInThrottledError,
  firstRefusalOfLock,
  loginLockRemainingMs,
  loginThrottleKeys,
  recordLoginFailure,
} from "../loginThrottle"
import { Login } from "../schemas"

export class AccountDisabledError extends AuthenticationError {
  constructor() {
    super("This account is disabled")
    this.name = "AccountDisabledError"
  }
}

type FailureReason = "UNKNOWN_EMAIL" | "WRONG_PASSWORD" | "DISABLED" | "THROTTLED"

// Unknown emails are verified against this, so they take as long to refuse as a wrong password.
let dummyHash: Promise<string> | null = null
export function passwordHashToVerify(user: Pick<User, "hashedPassword"> | null): Promise<string> {
  if (user?.hashedPassword) return Promise.resolve(user.hashedPassword)
  dummyHash ??= SecurePassword.hash(crypto.randomBytes(16).toString("hex"))
  return dummyHash
}

async function refuse(email: string, keys: ReturnType<typeof loginThrottleKeys>, reason: FailureReason, subjectId: number | null) {
  await db.$transaction(async (tx) => {
    if (reason !== "THROTTLED") await recordLoginFailure(tx, keys)
    await recordAuditEvent(tx, {
      action: "SIGN_IN_FAILED",
      actorId: null,
      subjectId,
      impersonationId: null,
      organizationId: null,
      details: { email, reason },
    })
  })
}

/** Checks the throttle, then the password; every refusal is counted and audited (never the password). */
export async function authenticateUser(email: string, password: string) {
  // A browser that signed in as this email before is not held by the email's lock (a flood's).
  const keys = loginThrottleKeys(email, currentRequestMeta().ip, knownDeviceId(email))
  const lockedMs = await loginLockRemainingMs(keys)
  if (lockedMs > 0) {
    // The route logs every refusal; the audit keeps the first of each lock.
    if (await firstRefusalOfLock(keys)) await refuse(email, keys, "THROTTLED", null)
    throw new SignInThrottledError(lockedMs)
  }
  const user = await db.user.findUnique({ where: { email } })
  const valid = await verifyPassword(user, password)
  if (!user || !valid) {
    await refuse(email, keys, user ? "WRONG_PASSWORD" : "UNKNOWN_EMAIL", user?.id ?? null)
    throw new AuthenticationError("Wrong email or password")
  }
  if (user.status !== "ACTIVE") {
    await refuse(email, keys, "DISABLED", user.id)
    throw new AccountDisabledError()
  }
  return user
}

/**
 * Whether `password` is this user's, checked as every sign-in checks it (SecurePassword against
 * the stored hash; no user or no password takes as long and fails); a right password on an
 * outdated hash is re-hashed. Sign-in, and the Settings page's password confirmations, use it.
 */
export async function verifyPassword(
  user: Pick<User, "id" | "hashedPassword"> | null,
  password: string,
): Promise<boolean> {
  const result = await SecurePassword.verify(await passwordHashToVerify(user), password).catch(
    () => SecurePassword.INVALID,
  )
  if (!user?.hashedPassword || (result !== SecurePassword.VALID && result !== SecurePassword.VALID_NEEDS_REHASH)) {
    return false
  }
  if (result === SecurePassword.VALID_NEEDS_REHASH) {
    await db.user.update({
      where: { id: user.id },
      data: { hashedPassword: await SecurePassword.hash(password) },
      select: { id: true },
    })
  }
  return true
}

export default resolver.pipe(resolver.zod(Login), async ({ email, password }, ctx) => {
  const user = await authenticateUser(email, password)
  // Signing in over an impersonation ends it; the old session row must not linger.
  await endSessionImpersonation(ctx.session.$handle, "SIGNED_OUT")
  await ctx.session.$revoke()
  await ctx.session.$create({ userId: user.id, role: user.role })
  await recordSignIn(user, "PASSWORD")
  rememberKnownDevice(user.email)
  return { id: user.id, email: user.email, name: user.name, role: user.role }
})

import { SecurePassword } from "@blitzjs/auth/secure-password"
import { resolver } from "@blitzjs/rpc"
import { AuthenticationError } from "blitz"
import db from "db"
import { endSessionImpersonation } from "app/impersonation/guard"
import { Login } from "../schemas"

export class AccountDisabledError extends AuthenticationError {
  constructor() {
    super("This account is disabled")
    this.name = "AccountDisabledError"
  }
}

export async function authenticateUser(email: string, password: string) {
  const user = await db.user.findUnique({ where: { email } })
  const result = await SecurePassword.verify(user?.hashedPassword ?? null, password).catch(
    () => SecurePassword.INVALID,
  )
  if (!user || result === SecurePassword.INVALID || result === SecurePassword.INVALID_UNRECOGNIZED_HASH) {
    throw new AuthenticationError("Wrong email or password")
  }
  if (user.status !== "ACTIVE") throw new AccountDisabledError()
  if (result === SecurePassword.VALID_NEEDS_REHASH) {
    await db.user.update({
      where: { id: user.id },
      data: { hashedPassword: await SecurePassword.hash(password) },
    })
  }
  return user
}

export default resolver.pipe(resolver.zod(Login), async ({ email, password }, ctx) => {
  const user = await authenticateUser(email, password)
  // Signing in over an impersonation ends it; the old session row must not linger.
  await endSessionImpersonation(ctx.session.$handle, "SIGNED_OUT")
  await ctx.session.$revoke()
  await ctx.session.$create({ userId: user.id, role: user.role })
  return { id: user.id, email: user.email, name: user.name, role: user.role }
})

import { SecurePassword } from "@blitzjs/auth/secure-password"
import { resolver } from "@blitzjs/rpc"
import db from "db"
import { isUniqueViolation } from "app/core/errors"
import { endSessionImpersonation } from "app/impersonation/guard"
import { recordSignIn } from "../audit"
import { rememberKnownDevice } from "../knownDevice"
import { Signup } from "../schemas"

export class EmailTakenError extends Error {
  name = "EmailTakenError"
  statusCode = 409
  constructor() {
    super("An account with this email already exists")
  }
}

export default resolver.pipe(resolver.zod(Signup), async ({ name, email, password }, ctx) => {
  const hashedPassword = await SecurePassword.hash(password)
  const user = await db.user
    .create({ data: { name, email, hashedPassword, role: "USER" } })
    .catch((error: unknown) => {
      throw isUniqueViolation(error) ? new EmailTakenError() : error
    })
  await endSessionImpersonation(ctx.session.$handle, "SIGNED_OUT")
  await ctx.session.$revoke()
  await ctx.session.$create({ userId: user.id, role: user.role })
  await recordSignIn(user, "SIGNUP")
  rememberKnownDevice(user.email)
  return { id: user.id, email: user.email, name: user.name, role: user.role }
})

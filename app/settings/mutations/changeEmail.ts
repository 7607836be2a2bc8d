import { resolver } from "@blitzjs/rpc"
import { NotFoundError } from "blitz"
import db from "db"
import { EmailTakenError } from "app/auth/mutations/signup"
import { isUniqueViolation } from "app/core/errors"
import { ChangeEmail } from "../schemas"

/** Changes the signed-in user's email (sign-in name); an address another account uses is refused. */
export default resolver.pipe(resolver.zod(ChangeEmail), resolver.authorize(), async ({ email }, ctx) => {
  const userId = ctx.session.userId
  const current = await db.user.findUnique({ where: { id: userId }, select: { email: true } })
  if (!current) throw new NotFoundError("Your account no longer exists")
  if (current.email === email) return { email, changed: false }
  const taken = await db.user.findUnique({ where: { email }, select: { id: true } })
  if (taken) throw new EmailTakenError()
  // Two people asking for the same address at once: the unique index decides.
  await db.user
    .update({ where: { id: userId }, data: { email }, select: { id: true } })
    .catch((error: unknown) => {
      throw isUniqueViolation(error) ? new EmailTakenError() : error
    })
  return { email, changed: true }
})

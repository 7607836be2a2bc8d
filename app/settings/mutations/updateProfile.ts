import { resolver } from "@blitzjs/rpc"
import db from "db"
import { UpdateProfile } from "../schemas"

/** The signed-in user's name and phone number (empty removes the phone number). */
export default resolver.pipe(resolver.zod(UpdateProfile), resolver.authorize(), async ({ name, phone }, ctx) => {
  return db.user.update({
    where: { id: ctx.session.userId },
    data: { name, phone },
    select: { id: true, name: true, phone: true },
  })
})

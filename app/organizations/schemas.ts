import { z } from "zod"
import { ORG_ROLES } from "./roles"

const rowId = (what: string) =>
  z
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .positive(`${what} must be a positive number`)
    .max(2_147_483_647, `${what} is too large`)

export const ChangeMemberRole = z
  .object({
    organizationId: rowId("Organization ID"),
    userId: rowId("User ID"),
    role: z.enum(ORG_ROLES, { message: "Role must be OWNER, ADMIN or MEMBER" }),
  })
  .strict()

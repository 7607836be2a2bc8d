import type { SimpleRolesIsAuthorized } from "@blitzjs/auth"
import type { Role } from "db"

declare module "@blitzjs/auth" {
  export interface Session {
    isAuthorized: SimpleRolesIsAuthorized<Role>
    PublicData: {
      userId: number
      role: Role
      /** The admin behind this session while impersonating (the Blitz recipe's name). */
      impersonatingFromUserId?: number
      impersonationId?: number
      /** ISO timestamp; for display only, the server reads the Impersonation row. */
      impersonationExpiresAt?: string
      /** Set by the guard when an impersonation ended on its own; the next RPC rotates it. */
      returnedFromImpersonation?: true
    }
  }
}

import { AuthServerPlugin, simpleRolesIsAuthorized } from "@blitzjs/auth"
import { setupBlitzServer } from "@blitzjs/next"
import { RpcServerPlugin } from "@blitzjs/rpc"
import { BlitzLogger } from "blitz"
import { cookiePrefix, sessionExpiryMinutes } from "blitz.config"
import { sessionStorage } from "app/auth/sessionStorage"

export const { getBlitzContext, useAuthenticatedBlitzContext, invoke, withBlitzAuth } =
  setupBlitzServer({
    plugins: [
      AuthServerPlugin({
        cookiePrefix,
        storage: sessionStorage,
        isAuthorized: simpleRolesIsAuthorized,
        sessionExpiryMinutes,
      }),
      RpcServerPlugin({ logging: { verbose: false } }),
    ],
    // Hidden: formatRpcError logs each RPC error once through app/core/log (Blitz would log
    // every refusal again, as an error with its stack).
    logger: BlitzLogger({ type: "hidden" }),
  })

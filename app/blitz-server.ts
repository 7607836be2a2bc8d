import { AuthServerPlugin, simpleRolesIsAuthorized } from "@blitzjs/auth"
import { setupBlitzServer } from "@blitzjs/next"
import { RpcServerPlugin } from "@blitzjs/rpc"
import { BlitzLogger } from "blitz"
import { cookiePrefix, sessionExpiryMinutes } from "blitz.config"
import { sessionStorage } from "app/auth/sessionStorage"
import { serverConfig } from "app/core/serverConfig"

export const { getBlitzContext, useAuthenticatedBlitzContext, invoke, withBlitzAuth } =
  setupBlitzServer({
    plugins: [
      AuthServerPlugin({
        cookiePrefix,
        storage: sessionStorage,
        isAuthorized: simpleRolesIsAuthorized,
        sessionExpiryMinutes,
        // Blitz reads DISABLE_SECURE_COOKIES as "set means true"; the validated setting wins.
        secureCookies: serverConfig.secureCookies,
      }),
      RpcServerPlugin({ logging: { verbose: false } }),
    ],
    // Hidden: formatRpcError logs each RPC error once through app/core/log (Blitz would log
    // every refusal again, as an error with its stack).
    logger: BlitzLogger({ type: "hidden" }),
  })

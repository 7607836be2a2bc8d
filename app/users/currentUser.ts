import { headers } from "next/headers"
import { cache } from "react"
import { invoke } from "app/blitz-server"
import { log } from "app/core/log"
import { requestMetaFromHeaders, runWithRequestMeta } from "app/core/requestContext"
import getCurrentUser from "./queries/getCurrentUser"

/**
 * The current user for server components, fetched once per request. The request's IP and user
 * agent go to the audit log if reading the session ends an impersonation (the guard runs here).
 */
export const loadCurrentUser = cache(async () => {
  const meta = requestMetaFromHeaders(await headers())
  return runWithRequestMeta(meta, async () => {
    try {
      return await invoke(getCurrentUser, null)
    } catch (error) {
      // A bad or planted cookie: the page renders signed out (proxy.ts clears such cookies).
      const name = (error as Error)?.name
      if (name !== "AuthenticationError" && name !== "CSRFTokenMismatchError") throw error
      log.info({ refused: { name } }, "Page rendered signed out: unusable session cookies")
      return null
    }
  })
})

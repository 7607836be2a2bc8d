"use client"
import { AuthClientPlugin } from "@blitzjs/auth"
import { setupBlitzClient } from "@blitzjs/next"
import { BlitzRpcPlugin } from "@blitzjs/rpc"
import { cookiePrefix } from "blitz.config"

export const { withBlitz, useSession, BlitzProvider } = setupBlitzClient({
  plugins: [AuthClientPlugin({ cookiePrefix }), BlitzRpcPlugin({})],
})

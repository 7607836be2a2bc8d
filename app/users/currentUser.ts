import { cache } from "react"
import { invoke } from "app/blitz-server"
import getCurrentUser from "./queries/getCurrentUser"

/** The current user for server components, fetched once per request. */
export const loadCurrentUser = cache(() => invoke(getCurrentUser, null))

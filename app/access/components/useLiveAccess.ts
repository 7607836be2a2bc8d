"use client"
import { invalidateQuery, useMutation, useQuery } from "@blitzjs/rpc"
import { useEffect, useRef, useState } from "react"
import { errorMessageForPerson } from "app/core/components/Form"
import endAccessByUser from "../mutations/endAccessByUser"
import getAccessHistory from "../queries/getAccessHistory"
import getLiveAccess from "../queries/getLiveAccess"

/** How often the user's pages ask whether someone is in their account (no reload needed). */
export const LIVE_ACCESS_POLL_MS = 4000

/**
 * The live impersonations of the signed-in user, polled, and "End access" for one of them.
 * The notice and the Security page's panel share the query (one poll between them).
 */
export function useLiveAccess() {
  const [live, { refetch, error }] = useQuery(getLiveAccess, null, {
    // A refusal (an admin acting as this user) is final: no polling after it.
    refetchInterval: (query) => (query.state.error ? false : LIVE_ACCESS_POLL_MS),
    refetchIntervalInBackground: false,
    refetchOnWindowFocus: true,
    retry: false,
  })
  const [end, { isPending: ending }] = useMutation(endAccessByUser)
  // Someone came in or left: the history (if shown) is out of date too.
  const liveIds = (live ?? []).map((access) => access.id).join(",")
  const seenIds = useRef<string | null>(null)
  useEffect(() => {
    if (live === undefined) return
    if (seenIds.current !== null && seenIds.current !== liveIds) void invalidateQuery(getAccessHistory)
    seenIds.current = liveIds
  }, [live, liveIds])
  const [problem, setProblem] = useState<string | null>(null)

  async function endAccess(id: number) {
    setProblem(null)
    try {
      await end({ id })
    } catch (error) {
      setProblem(errorMessageForPerson(error))
    }
    await Promise.all([refetch(), invalidateQuery(getAccessHistory)])
  }

  return { live: live ?? [], refused: error ? errorMessageForPerson(error) : null, endAccess, ending, problem }
}

"use client"
import { useQuery } from "@blitzjs/rpc"
import Link from "next/link"
import getAccessRequests from "../queries/getAccessRequests"
import { SECURITY_PAGE_PATH } from "../requestRules"
import { ACCESS_REQUESTS_REFETCH_MS } from "./AccessRequestsPanel"
import styles from "./accessRequests.module.css"

/**
 * On every page of a signed-in user (never to an admin acting as them: the root layout decides):
 * requests waiting for their answer, like the impersonation banner but theirs, with "Review".
 * Asked again every few seconds, so a new request shows without a reload.
 */
export function AccessRequestNotice() {
  const [data] = useQuery(
    getAccessRequests,
    {},
    {
      suspense: false,
      refetchInterval: ACCESS_REQUESTS_REFETCH_MS,
      refetchOnWindowFocus: true,
    }
  )
  const pending = data?.pending ?? []
  if (pending.length === 0) return null
  const first = pending[0]!
  const more = pending.length - 1
  return (
    <div role="status" className={styles.notice} data-testid="access-request-notice">
      <p>
        <strong>{first.admin.name} asks to access your account:</strong> {first.reason}
        {more > 0 ? ` (and ${more} more request${more === 1 ? "" : "s"})` : ""}
      </p>
      <Link href={SECURITY_PAGE_PATH}>Review</Link>
    </div>
  )
}

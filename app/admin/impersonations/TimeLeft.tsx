"use client"
import { useRouter } from "next/navigation"
import { useEffect } from "react"
import { formatRemaining, useRemaining } from "app/core/components/countdown"

/** A live countdown to an impersonation's time limit; at zero the list is fetched again. */
export function TimeLeft({ expiresAt }: { expiresAt: string }) {
  const router = useRouter()
  const remaining = useRemaining(new Date(expiresAt).getTime())
  const over = remaining <= 0

  useEffect(() => {
    // The server drops expired rows from the list; ask it once the time is up.
    if (over) router.refresh()
  }, [over, router])

  return (
    <time dateTime={expiresAt} suppressHydrationWarning data-testid="time-left">
      {over ? "ended" : formatRemaining(remaining)}
    </time>
  )
}

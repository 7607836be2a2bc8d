"use client"
import { useRouter } from "next/navigation"
import { useEffect, useState } from "react"

function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const minutes = Math.floor(total / 60)
  const seconds = total % 60
  return `${minutes}:${seconds.toString().padStart(2, "0")}`
}

/** A live countdown to an impersonation's time limit; at zero the list is fetched again. */
export function TimeLeft({ expiresAt }: { expiresAt: string }) {
  const router = useRouter()
  const end = new Date(expiresAt).getTime()
  const [now, setNow] = useState(() => Date.now())
  const remaining = end - now
  const over = remaining <= 0

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [])

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

"use client"
import { useEffect, useState } from "react"

/** Time left as m:ss (never negative). */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const minutes = Math.floor(total / 60)
  const seconds = total % 60
  return `${minutes}:${seconds.toString().padStart(2, "0")}`
}

/** Milliseconds until `endMs`, updated every second (0 when there is no end). */
export function useRemaining(endMs: number | null): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (endMs === null) return
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [endMs])
  return endMs === null ? 0 : endMs - now
}

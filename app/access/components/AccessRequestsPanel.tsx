"use client"

/** Placeholder of the Security page's work (H1); replaced by the real component. */
export function AccessRequestsPanel() {
  return null
}

"use client"

/** Placeholder of the Security page's work (H3); replaced by the real component. */
export function ConsentSetting() {
  return null
}

/** What a masked sensitive value starts with (maskValue in app/impersonation/policy.ts): the page offers Reveal beside it. */
export const MASK_PREFIX = "••••"

export function isMasked(value: string | null | undefined): value is string {
  return typeof value === "string" && value.startsWith(MASK_PREFIX)
}

/** "2026-12-02 17:05 UTC": times as the console shows them. */
export function formatUtc(at: Date | string): string {
  return `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`
}

/** "2026-12-02 17:05 UTC": times as the console and the Security page show them. */
export function formatAccessTime(at: Date | string): string {
  return `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`
}

/** 1..24: what the hours choices offer. */
export const HOUR_CHOICES = Array.from({ length: 24 }, (_, index) => index + 1)

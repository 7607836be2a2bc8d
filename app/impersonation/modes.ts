import type { ImpersonationMode } from "./policy"

/** Rule 8's modes in the words the banner, the console and the audit log use. */
export const MODE_LABELS: Record<ImpersonationMode, string> = { READ_ONLY: "Read-only", READ_WRITE: "Read-write" }

/** A mode read back from stored JSON (audit details): its label, or null when absent or unknown. */
export function modeLabel(value: unknown): string | null {
  return value === "READ_ONLY" || value === "READ_WRITE" ? MODE_LABELS[value] : null
}

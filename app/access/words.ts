import type { Consent, EndReason } from "app/impersonation/policy"

/** The words people see for consent, the organization floor and how an access ended (client-safe). */

/** The user's own choice on the Security page. */
export const CONSENT_CHOICES: Record<Consent, string> = {
  ALLOWED: "Support may access my account",
  ASK: "Ask me each time",
  NEVER: "Never",
}

/** An organization OWNER's floor for every member, on the organization page. */
export const FLOOR_CHOICES: Record<Consent, string> = {
  ALLOWED: "Members decide",
  ASK: "Members' accounts always require approval",
  NEVER: "No staff access to this organization",
}

/** What a floor requires of members, as a clause: "Umbrella requires <this> for its members". */
export const FLOOR_REQUIREMENT: Record<Exclude<Consent, "ALLOWED">, string> = {
  ASK: "your approval of each access",
  NEVER: "no staff access at all",
}

/** The setting that applies, in words. */
export const EFFECTIVE_CONSENT: Record<Consent, string> = {
  ALLOWED: "Support may access your account",
  ASK: "Support must ask you each time, and you approve or deny",
  NEVER: "Nobody may access your account: support and organization admins are refused",
}

/** How an access to the user's account ended, told to that user. */
export const END_REASON_WORDS: Record<EndReason, string> = {
  STOPPED: "Stopped by support",
  EXPIRED: "Time limit reached",
  REPLACED: "Support started another session",
  SIGNED_OUT: "Support signed out",
  ACTOR_REVOKED: "Support's access rights changed",
  TARGET_REVOKED: "Ended by your or your organization's settings",
  ENDED_BY_ADMIN: "Ended by an administrator",
  FEATURE_DISABLED: "Impersonation was turned off",
  PASSWORD_CHANGED: "Support changed their password",
  ENDED_BY_USER: "Ended by you",
}

export const MODE_WORDS = { READ_ONLY: "Read-only", READ_WRITE: "Read-write" } as const

/** "2026-12-02 17:05 UTC": times as the console shows them. */
export function formatUtc(at: Date | string): string {
  return `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`
}

/** A duration in words: "45 s", "12 min", "1 h 5 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  const rest = minutes % 60
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`
}

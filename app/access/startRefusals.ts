import { REFUSAL_MESSAGES } from "app/impersonation/policy"
import { formatAccessTime } from "./requestFormat"

/**
 * How the console's start forms show a refusal about the user's approval: APPROVAL_REQUIRED is
 * a state to wait in (informational), a denial or revocation is said in words with when the
 * admin may ask again. Null: not one of these (the form shows the message as usual).
 */
export function describeStartRefusal(
  error: unknown
): { kind: "waiting" | "refused"; message: string } | null {
  if (typeof error !== "object" || error === null) return null
  const { code, message, meta } = error as {
    code?: unknown
    message?: unknown
    meta?: { retryAfter?: unknown } | null
  }
  const text = typeof message === "string" && message ? message : null
  const retryAfter =
    typeof meta?.retryAfter === "string" && !Number.isNaN(Date.parse(meta.retryAfter))
      ? meta.retryAfter
      : null
  const askAgain = retryAfter ? ` You can ask again after ${formatAccessTime(retryAfter)}.` : ""
  switch (code) {
    case "APPROVAL_REQUIRED":
      return {
        kind: "waiting",
        message: text ?? REFUSAL_MESSAGES.APPROVAL_REQUIRED,
      }
    case "ACCESS_DENIED":
      return {
        kind: "refused",
        message: `${REFUSAL_MESSAGES.ACCESS_DENIED}.${askAgain}`,
      }
    case "ACCESS_REVOKED":
      return {
        kind: "refused",
        message: `${REFUSAL_MESSAGES.ACCESS_REVOKED}.${askAgain}`,
      }
    case "MODE_NOT_APPROVED":
      return {
        kind: "refused",
        message: text ?? REFUSAL_MESSAGES.MODE_NOT_APPROVED,
      }
    default:
      return null
  }
}

import { z } from "zod"

// NUL cannot be stored in PostgreSQL text; a lone surrogate half is not valid Unicode.
const UNSTORABLE = /[\u0000\p{Cs}]/u

/** A string field that the database can store as sent: every text field schema starts here. */
export function safeText(params?: Parameters<typeof z.string>[0]) {
  return z
    .string(params)
    .refine((value) => !UNSTORABLE.test(value), "must not contain NUL characters or broken Unicode")
}

/**
 * Text a person typed, for one line of a plain-text email: line breaks and runs of whitespace
 * become one space and it is quoted, so that it can never pass for a line the app wrote (a
 * reason that adds "Approve it here: <link>" stays inside the quotes of its own line).
 */
export function quotedLine(value: string): string {
  return `"${value.replace(/[\s\u0000-\u001f\u007f]+/g, " ").trim()}"`
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"])

/** True when superjson metadata names a key its deserializer refuses (it throws on them). */
export function namesForbiddenKey(meta: unknown): boolean {
  if (typeof meta === "string") return meta.split(".").some((segment) => FORBIDDEN_KEYS.has(segment))
  if (Array.isArray(meta)) return meta.some(namesForbiddenKey)
  if (typeof meta === "object" && meta !== null) {
    return Object.entries(meta).some(([key, value]) => namesForbiddenKey(key) || namesForbiddenKey(value))
  }
  return false
}

/** No resolver input is nested this deeply; deeper bodies would overflow recursive parsers. */
export const MAX_BODY_DEPTH = 32

/** How deeply a parsed JSON value nests, counted without recursion (stops past `limit`). */
export function nestingDepth(value: unknown, limit = MAX_BODY_DEPTH): number {
  let deepest = 0
  const pending: Array<[unknown, number]> = [[value, 1]]
  while (pending.length) {
    const [node, depth] = pending.pop()!
    if (typeof node !== "object" || node === null) continue
    deepest = Math.max(deepest, depth)
    if (deepest > limit) return deepest
    for (const child of Object.values(node)) pending.push([child, depth + 1])
  }
  return deepest
}

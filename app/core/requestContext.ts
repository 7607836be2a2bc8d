import { AsyncLocalStorage } from "node:async_hooks"

/** Who sent the request being served, for the audit log (set by the RPC route). */
export type RequestMeta = { ip: string | null; userAgent: string | null }

const storage = new AsyncLocalStorage<RequestMeta>()

export function requestMetaFromHeaders(headers: Headers): RequestMeta {
  const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim()
  return {
    ip: (forwarded || headers.get("x-real-ip") || null)?.slice(0, 64) ?? null,
    userAgent: headers.get("user-agent")?.slice(0, 512) ?? null,
  }
}

export function runWithRequestMeta<T>(meta: RequestMeta, fn: () => T): T {
  return storage.run(meta, fn)
}

export function currentRequestMeta(): RequestMeta {
  return storage.getStore() ?? { ip: null, userAgent: null }
}

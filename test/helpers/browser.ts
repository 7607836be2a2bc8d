import fs from "node:fs"
import path from "node:path"
import { getSession } from "@blitzjs/auth"
import { __internal_addBlitzRpcResolver } from "@blitzjs/rpc"
import superjson from "superjson"
import { cookiePrefix } from "blitz.config"
import "app/blitz-server" // installs Blitz's session configuration, as the app does
import { POST } from "app/api/rpc/[[...blitz]]/route"

/**
 * A browser without a browser: a cookie jar that calls the app's real RPC route handler
 * in-process, so resolvers run with real Blitz sessions, real cookies and the anti-CSRF check.
 */

function registerResolvers() {
  const root = path.join(process.cwd(), "app")
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) return walk(full)
      const parent = path.basename(dir)
      const isResolver =
        (parent === "queries" || parent === "mutations") && /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)
      return isResolver ? [full] : []
    })
  for (const file of walk(root)) {
    const name = path.basename(file, ".ts")
    __internal_addBlitzRpcResolver(`/${name}`, file, () => import(/* @vite-ignore */ file))
  }
}
registerResolvers()

export const COOKIE = {
  session: `${cookiePrefix}_sSessionToken`,
  antiCsrf: `${cookiePrefix}_sAntiCsrfToken`,
  publicData: `${cookiePrefix}_sPublicDataToken`,
  anonymous: `${cookiePrefix}_sAnonymousSessionToken`,
}

export type RpcResponse<T = unknown> = {
  status: number
  result: T | null
  error: { name: string; message: string; code?: string; statusCode?: number } | null
}

export class TestBrowser {
  readonly cookies = new Map<string, string>()

  /** Another browser holding the same cookies (to replay an old session later). */
  clone(): TestBrowser {
    const copy = new TestBrowser()
    for (const [k, v] of this.cookies) copy.cookies.set(k, v)
    return copy
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
  }

  private absorb(response: Response) {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = cookie.split(";")
      const eq = pair.indexOf("=")
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expires = attributes.find((a) => a.trim().toLowerCase().startsWith("expires="))
      const expired = expires && new Date(expires.split("=")[1]!).getTime() < Date.now()
      if (!value || expired) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  /** POST /api/rpc/<name> with a raw JSON body, as a client would send it. */
  async rpcRaw(
    name: string,
    body: string,
    { csrf = true, contentType = "application/json", headers: extra = {} as Record<string, string> } = {},
  ): Promise<RpcResponse & { raw: Response }> {
    const headers = new Headers({ "content-type": contentType, "user-agent": "vitest-browser", ...extra })
    if (this.cookies.size) headers.set("cookie", this.cookieHeader())
    const antiCsrf = this.cookies.get(COOKIE.antiCsrf)
    if (csrf && antiCsrf) headers.set("anti-csrf", antiCsrf)
    const request = new Request(`http://localhost/api/rpc/${name}`, { method: "POST", headers, body })
    const response = await POST(request, { params: Promise.resolve({ blitz: [name] }) })
    this.absorb(response)
    const payload = (await response.clone().json()) as {
      result: unknown
      error: RpcResponse["error"]
      meta?: { result?: unknown }
    }
    const result =
      payload.result === null || payload.result === undefined
        ? null
        : superjson.deserialize({ json: payload.result as never, meta: payload.meta?.result as never })
    return { status: response.status, result, error: payload.error, raw: response }
  }

  async rpc<T = unknown>(
    name: string,
    params: unknown = null,
    options?: { csrf?: boolean; headers?: Record<string, string> },
  ) {
    const { json, meta } = superjson.serialize(params)
    const res = await this.rpcRaw(name, JSON.stringify({ params: json, meta: { params: meta } }), options)
    return res as RpcResponse<T> & { raw: Response }
  }

  /**
   * Sends a request through any route handler in-process, with this browser's cookies (and its
   * anti-CSRF header unless `csrf: false`), and keeps the cookies the response sets.
   */
  async send(
    handler: (request: Request) => Promise<Response>,
    url: string,
    init: { method: string; body?: BodyInit | null; headers?: Record<string, string>; csrf?: boolean },
  ): Promise<Response> {
    const headers = new Headers({ "user-agent": "vitest-browser", ...init.headers })
    if (this.cookies.size) headers.set("cookie", this.cookieHeader())
    const antiCsrf = this.cookies.get(COOKIE.antiCsrf)
    if (init.csrf !== false && antiCsrf) headers.set("anti-csrf", antiCsrf)
    // A streamed body (no Content-Length) needs duplex: "half".
    const request = new Request(url, { method: init.method, headers, body: init.body ?? null, duplex: "half" } as RequestInit)
    const response = await handler(request)
    this.absorb(response)
    return response
  }

  /** Resolves the session as a page (server component) request would: a plain GET. */
  async pageSession() {
    const headers = new Headers()
    if (this.cookies.size) headers.set("cookie", this.cookieHeader())
    return getSession(new Request("http://localhost/", { method: "GET", headers }))
  }

  async login(email: string, password: string) {
    const res = await this.rpc("login", { email, password })
    if (res.error) throw new Error(`login as ${email} failed: ${res.error.message}`)
    return res
  }
}

import { spawn, type ChildProcess } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import superjson from "superjson"
import { cookiePrefix } from "blitz.config"

/**
 * Driving a running server over real HTTP, for the commands that start instances
 * (`npm run cluster`, `npm run bench`): a cookie jar with the anti-CSRF header, superjson RPC
 * bodies, a wait for the server to answer, and a child command's output.
 */

export function runCommand(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    child.on("close", (code) => resolve({ code: code ?? 1, out }))
  })
}

/** Builds the app (`npm run build`) unless `.next/BUILD_ID` exists, saying so. */
export async function ensureProductionBuild(root = process.cwd()) {
  if (fs.existsSync(path.join(root, ".next", "BUILD_ID"))) return
  console.log("No build in .next: running `npm run build` first (a few minutes)")
  const build = await runCommand("npm", ["run", "build"], { ...process.env, NEXT_TELEMETRY_DISABLED: "1" }, root)
  if (build.code !== 0) throw new Error(`the build failed:\n${build.out.slice(-3000)}`)
}

export type HttpRpcResponse<T> = {
  status: number
  result: T | null
  error: { name?: string; code?: string; message: string } | null
  headers: Headers
}

/** A browser without a browser, over HTTP: a cookie jar, the anti-CSRF header, superjson bodies. */
export class HttpBrowser {
  cookies = new Map<string, string>()
  constructor(
    public origin: string,
    /** Sent with every request (e.g. `origin` for servers that check it). */
    public extraHeaders: Record<string, string> = {},
  ) {}

  /** The same cookies sent to another instance. */
  on(origin: string): HttpBrowser {
    const other = new HttpBrowser(origin, this.extraHeaders)
    other.cookies = this.cookies
    return other
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
  }

  /** Any request to this origin with the jar's cookies; the cookies the answer sets are kept. */
  async request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
    const headers: Record<string, string> = { ...this.extraHeaders, ...init.headers }
    if (this.cookies.size) headers.cookie = this.cookieHeader()
    const response = await fetch(`${this.origin}${path}`, { method: init.method ?? "GET", headers, body: init.body })
    this.absorb(response)
    return response
  }

  private absorb(response: Response) {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = cookie.split(";")
      const eq = pair.indexOf("=")
      const key = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expires = attributes.find((a) => a.trim().toLowerCase().startsWith("expires="))
      const maxAge = attributes.find((a) => a.trim().toLowerCase().startsWith("max-age="))
      const expired =
        (expires && new Date(expires.split("=")[1]!).getTime() < Date.now()) || (maxAge && Number(maxAge.split("=")[1]) <= 0)
      if (!value || expired) this.cookies.delete(key)
      else this.cookies.set(key, value)
    }
  }

  /** The request a Blitz page sends for `invoke(resolver, params)`: POST /api/rpc/<name>. */
  rpcInit(params: unknown = null): { method: string; headers: Record<string, string>; body: string } {
    const { json, meta } = superjson.serialize(params)
    const headers: Record<string, string> = { "content-type": "application/json" }
    const csrf = this.cookies.get(`${cookiePrefix}_sAntiCsrfToken`)
    if (csrf) headers["anti-csrf"] = csrf
    return { method: "POST", headers, body: JSON.stringify({ params: json, meta: { params: meta } }) }
  }

  async rpc<T = unknown>(name: string, params: unknown = null): Promise<HttpRpcResponse<T>> {
    const response = await this.request(`/api/rpc/${name}`, this.rpcInit(params))
    const text = await response.text()
    let payload: { result?: unknown; error?: { code?: string; message: string } | null; meta?: { result?: unknown } }
    try {
      payload = JSON.parse(text) as typeof payload
    } catch {
      return {
        status: response.status,
        result: null,
        error: { message: `not JSON (HTTP ${response.status}): ${text.slice(0, 120)}` },
        headers: response.headers,
      }
    }
    const result =
      payload.result == null ? null : (superjson.deserialize({ json: payload.result as never, meta: payload.meta?.result as never }) as T)
    return { status: response.status, result, error: payload.error ?? null, headers: response.headers }
  }
}

/** Waits until `url` answers 200, or throws with the end of the server's log. */
export async function waitUntilUp(url: string, child: ChildProcess, log: () => string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server for ${url} exited:\n${log().slice(-2000)}`)
    try {
      const res = await fetch(url)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`the server for ${url} did not answer within ${timeoutMs / 1000} s:\n${log().slice(-2000)}`)
}

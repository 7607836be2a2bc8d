import { spawn, type ChildProcess } from "node:child_process"
import path from "node:path"
import superjson from "superjson"

/**
 * Helpers for scripts that drive built app servers over real HTTP (`npm run cluster`,
 * `npm run faults`): a cookie-jar client, starting and waiting for `server.ts`, running a
 * command, and the `PASS`/`FAIL` list that ends in `N passed, N failed`.
 */

export const ROOT = process.cwd()
export const COOKIE_PREFIX = "safe_imp"

export type Check = { name: string; ok: boolean; detail: string }

export class CheckList {
  readonly checks: Check[] = []
  check(name: string, ok: boolean, detail = "") {
    this.checks.push({ name, ok, detail })
    console.log(`${ok ? "PASS" : "FAIL"}  ${name}${detail ? `: ${detail}` : ""}`)
    return ok
  }
  get failed() {
    return this.checks.filter((c) => !c.ok).length
  }
  /** The final line; `extraFailures` counts an error that stopped the run. */
  summary(extraFailures = 0) {
    return `${this.checks.length - this.failed} passed, ${this.failed + extraFailures} failed`
  }
}

export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    child.on("close", (code) => resolve({ code: code ?? 1, out }))
  })
}

export type RpcAnswer<T> = { status: number; result: T | null; error: { name?: string; code?: string; message: string; statusCode?: number } | null; text: string }

/** A browser without a browser, over HTTP: a cookie jar, the anti-CSRF header, superjson bodies. */
export class HttpBrowser {
  cookies = new Map<string, string>()
  constructor(public origin: string) {}

  /** The same cookies sent to another instance. */
  on(origin: string): HttpBrowser {
    const other = new HttpBrowser(origin)
    other.cookies = this.cookies
    return other
  }

  /** Throws when the server cannot be reached (refused, reset); any HTTP answer is returned. */
  async rpc<T = unknown>(name: string, params: unknown = null, signal?: AbortSignal): Promise<RpcAnswer<T>> {
    const { json, meta } = superjson.serialize(params)
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    const csrf = this.cookies.get(`${COOKIE_PREFIX}_sAntiCsrfToken`)
    if (csrf) headers["anti-csrf"] = csrf
    const response = await fetch(`${this.origin}/api/rpc/${name}`, {
      method: "POST",
      headers,
      body: JSON.stringify({ params: json, meta: { params: meta } }),
      signal,
    })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = cookie.split(";")
      const eq = pair.indexOf("=")
      const key = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expires = attributes.find((a) => a.trim().toLowerCase().startsWith("expires="))
      if (!value || (expires && new Date(expires.split("=")[1]!).getTime() < Date.now())) this.cookies.delete(key)
      else this.cookies.set(key, value)
    }
    const text = await response.text()
    let payload: { result?: unknown; error?: RpcAnswer<T>["error"]; meta?: { result?: unknown } }
    try {
      payload = JSON.parse(text) as typeof payload
    } catch {
      return { status: response.status, result: null, error: { message: `not JSON (HTTP ${response.status}): ${text.slice(0, 120)}` }, text }
    }
    const result =
      payload.result == null ? null : (superjson.deserialize({ json: payload.result as never, meta: payload.meta?.result as never }) as T)
    return { status: response.status, result, error: payload.error ?? null, text }
  }
}

export async function signIn(origin: string, email: string, password: string) {
  const browser = new HttpBrowser(origin)
  const res = await browser.rpc("login", { email, password })
  if (res.error) throw new Error(`sign-in as ${email} on ${origin} failed: ${res.error.message}`)
  return browser
}

export type AppServer = { origin: string; child: ChildProcess; log: () => string; exited: Promise<void> }

/**
 * `npm start` (server.ts) on `port`. With `node: true` the server is the spawned process itself
 * (`node --import tsx server.ts`), so that a signal sent to its pid hits the process holding the
 * database; otherwise `tsx server.ts` in its own process group (stop it with `-pid`).
 */
export function startAppServer(port: number, env: NodeJS.ProcessEnv, options: { node?: boolean } = {}): AppServer {
  const child = options.node
    ? spawn(process.execPath, ["--import", "tsx", "server.ts"], {
        cwd: ROOT,
        env: { ...env, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
      })
    : spawn(path.join(ROOT, "node_modules", ".bin", "tsx"), ["server.ts"], {
        cwd: ROOT,
        env: { ...env, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      })
  let log = ""
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()))
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return { origin: `http://localhost:${port}`, child, log: () => log, exited }
}

export async function waitUntilUp(origin: string, child: ChildProcess, log: () => string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the instance on ${origin} exited:\n${log().slice(-2000)}`)
    }
    try {
      const res = await fetch(`${origin}/login`)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`the instance on ${origin} did not answer within ${timeoutMs / 1000} s:\n${log().slice(-2000)}`)
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

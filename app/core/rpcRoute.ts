import { getSession, type SessionContext } from "@blitzjs/auth"
import type { Ctx } from "blitz"
import superjson from "superjson"
import { cookiePrefix } from "blitz.config"
import { rotateReturnedSession } from "app/impersonation/guard"
import { log } from "./log"
import { readBodyText } from "./readBody"
import { MAX_BODY_DEPTH, namesForbiddenKey, nestingDepth } from "./text"
import { REQUEST_ID_HEADER } from "./clientAddress"
import { currentRequestMeta, requestMetaFromHeaders, runWithRequestMeta } from "./requestContext"

type Segment = { params: Promise<{ blitz?: string[] }> }
type RouteHandler = (request: Request, segment: Segment) => Promise<Response>
type RpcHandler = (request: Request, segment: Segment, ctx: Ctx) => Promise<Response>

/** Requests above this size are refused before any parsing (resolver inputs are small). */
export const MAX_RPC_BODY_BYTES = 64 * 1024

/**
 * What is wrong with a parsed RPC body, in words, or null. Blitz's superjson deserializer
 * throws (or overflows the stack) on some bodies, and that would be a 500: they are refused here.
 */
export function rpcBodyProblem(body: unknown): string | null {
  if (typeof body !== "object" || body === null || Array.isArray(body) || !("params" in body)) {
    return "The request body must be a JSON object with a params key"
  }
  if (nestingDepth(body) > MAX_BODY_DEPTH) return "The request body is nested too deeply"
  const { params, meta } = body as { params: unknown; meta?: { params?: unknown } | null }
  if (namesForbiddenKey(meta)) return "The request metadata names a forbidden key"
  try {
    // A trial run on this copy; Blitz deserializes its own parse of the same bytes.
    superjson.deserialize({ json: params as never, meta: meta?.params as never })
  } catch {
    return "The request parameters or their metadata cannot be read"
  }
  return null
}

function jsonError(status: number, name: string, message: string) {
  return Response.json({ result: null, error: { name, message, statusCode: status } }, { status })
}

/**
 * Serves Blitz's App Router RPC handler in place of `withBlitzAuth`: it resolves the session
 * (through the impersonation guard) and rotates one the guard handed back to an admin; the
 * anti-CSRF and session-token failures that Blitz leaves as a 500 become a 403/401 with a
 * JSON error, oversized or non-JSON bodies a 413/400; each request's IP and user agent are
 * made available to the audit log, its request id to every log line, its cookies to resolvers,
 * and the cookies resolvers add are sent.
 */
export function handleRpcRequest(handler: RpcHandler): RouteHandler {
  return (request, segment) =>
    runWithRequestMeta(requestMetaFromHeaders(request.headers), () => serve(request, segment))

  async function serve(request: Request, segment: Segment): Promise<Response> {
    const declaredLength = Number(request.headers.get("content-length") ?? 0)
    if (declaredLength > MAX_RPC_BODY_BYTES) {
      return jsonError(413, "PayloadTooLargeError", "The request body is too large")
    }
    if (request.method === "POST") {
      // Browsers cannot send application/json cross-site without a CORS preflight (which this
      // route never grants), so a cookieless request, which Blitz lets through without the
      // anti-CSRF header (login, signup), still cannot be forged from another site.
      if (!request.headers.get("content-type")?.toLowerCase().startsWith("application/json")) {
        return jsonError(415, "UnsupportedMediaTypeError", "Send the request body as application/json")
      }
      const body = await readBodyText(request, MAX_RPC_BODY_BYTES)
      if (body === null) {
        return jsonError(413, "PayloadTooLargeError", "The request body is too large")
      }
      let parsed: { meta?: unknown } | null
      try {
        parsed = JSON.parse(body) as { meta?: unknown } | null
      } catch {
        return jsonError(400, "BadRequestError", "The request body must be JSON")
      }
      const problem = rpcBodyProblem(parsed)
      if (problem) return jsonError(400, "BadRequestError", problem)
      // The stream is consumed: Blitz reads the same bytes from a copy.
      request = new Request(request, { body })
    }
    try {
      const session = await getSession(request)
      // Only a POST that passed the anti-CSRF check may turn a handed-back session into a new one.
      if (request.method === "POST") await rotateReturnedSession(session)
      // Blitz's withBlitzAuth passes only the session as well.
      const response = await handler(request, segment, { session } as Ctx)
      ;(session as SessionContext & { setSession(response: Response): void }).setSession(response)
      for (const cookie of currentRequestMeta().responseCookies) response.headers.append("set-cookie", cookie)
      return tidyResponse(response)
    } catch (error) {
      const name = (error as Error)?.name
      if (name === "CSRFTokenMismatchError") {
        return jsonError(403, name, "The anti-CSRF token is missing or does not match; reload the page")
      }
      if (name === "AuthenticationError") {
        // An unreadable session cookie would otherwise lock the browser out: clear it.
        const response = jsonError(401, name, "The session cookie is invalid; sign in again")
        response.headers.append(
          "set-cookie",
          `${cookiePrefix}_sSessionToken=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax`,
        )
        return response
      }
      if ((error as Error)?.message?.startsWith("No resolver for path")) {
        return jsonError(404, "NotFoundError", "No such RPC resolver")
      }
      log.error({ err: error }, "RPC request failed")
      return jsonError(500, "InternalServerError", "Sorry, something went wrong on our side. Please try again.")
    }
  }
}

/** Splits a comma-joined Set-Cookie value; commas inside `Expires=` dates are not separators. */
export function splitSetCookie(value: string): string[] {
  return value
    .split(/,(?=\s*[^=;,\s]+=)/)
    .map((cookie) => cookie.trim())
    .filter((cookie) => cookie !== "" && cookie !== "null")
}

/**
 * Blitz appends its cookies comma-joined (and twice: once from the RPC handler, once from
 * this route), a literal `set-cookie: null`, and answers JSON as text/plain.
 */
function tidyResponse(response: Response): Response {
  const headers = new Headers()
  const cookies = new Map<string, string>()
  for (const [key, value] of response.headers) {
    if (key === "set-cookie") continue
    headers.append(key, value)
  }
  for (const joined of response.headers.getSetCookie()) {
    for (const cookie of splitSetCookie(joined)) cookies.set(cookie.split("=")[0]!, cookie)
  }
  for (const cookie of cookies.values()) headers.append("set-cookie", cookie)
  const { requestId } = currentRequestMeta()
  if (requestId) headers.set(REQUEST_ID_HEADER, requestId)
  if (!headers.get("content-type")?.includes("json")) {
    headers.set("content-type", "application/json; charset=utf-8")
  }
  return new Response(response.body, { status: response.status, headers })
}

/** Bad input: what was wrong, in words, for the person or the API client. */
export class InputValidationError extends Error {
  name = "InputValidationError"
  statusCode = 400
}

const EXPECTED_STATUS = new Set([400, 401, 403, 404, 409, 422, 429])

/**
 * Errors as RPC clients see them: validation failures list what was wrong, expected errors
 * (status 4xx) pass through, anything else is logged and answered with a generic message.
 */
export function formatRpcError(error: Error & { statusCode?: number; issues?: unknown }): Error {
  if (error.name === "ZodError" && Array.isArray(error.issues)) {
    const issues = error.issues as Array<{ path: PropertyKey[]; message: string }>
    const message = issues
      .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
      .join("; ")
    log.info({ refused: { name: "InputValidationError", message } }, "RPC call refused")
    return new InputValidationError(message || "The input is not valid")
  }
  if (error.statusCode && EXPECTED_STATUS.has(error.statusCode)) {
    const { name, message, statusCode } = error
    log.info({ refused: { name, message, statusCode, code: (error as { code?: string }).code } }, "RPC call refused")
    return error
  }
  log.error({ err: error }, "RPC call failed")
  const generic = new Error("Sorry, something went wrong on our side. Please try again.")
  return Object.assign(generic, { name: "InternalServerError", statusCode: 500 })
}

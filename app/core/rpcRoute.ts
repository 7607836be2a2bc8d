import type { Ctx } from "blitz"
import superjson from "superjson"
import { countStatements } from "db/statements"
import { gateRpcCall } from "app/impersonation/callGate"
import { DATABASE_UNREACHABLE_MESSAGE, isDatabaseUnreachable, lastMessageLine } from "./errors"
import { log } from "./log"
import { MAX_BODY_DEPTH, namesForbiddenKey, nestingDepth } from "./text"
import { currentRequestMeta, requestMetaFromHeaders, runWithRequestMeta } from "./requestContext"
import { serverConfig } from "./serverConfig"
import {
  CLEAR_SESSION_COOKIE,
  declaresTooLargeBody,
  readJsonBody,
  resolveRouteSession,
  sendWithSession,
  sessionProblem,
} from "./sessionRoute"

type Segment = { params: Promise<{ blitz?: string[] }> }
type RouteHandler = (request: Request, segment: Segment) => Promise<Response>
type RpcHandler = (request: Request, segment: Segment, ctx: Ctx) => Promise<Response>

/** The SQL statements an RPC answer sent, when SQL_STATEMENT_HEADER=true (for the bench and tests). */
export const STATEMENT_HEADER = "x-sql-statements"

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
  let value: unknown
  try {
    // A trial run on this copy; Blitz deserializes its own parse of the same bytes.
    value = superjson.deserialize({ json: params as never, meta: meta?.params as never })
  } catch {
    return "The request parameters or their metadata cannot be read"
  }
  if (!isJsonData(value)) return "The request parameters may hold only JSON values (no dates, maps, sets or big integers)"
  return null
}

/**
 * True when a deserialized value is plain JSON data (objects, arrays, strings, numbers,
 * booleans, null; undefined as an object's value, i.e. absent). No resolver takes anything
 * else, and superjson's meta can turn params into a Set or Map, which zod's `object()` reads as
 * an empty object: `{}` passed for a Set would run a no-input mutation such as signOutEverywhere.
 */
export function isJsonData(value: unknown, limit = MAX_BODY_DEPTH): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]]
  while (pending.length) {
    const [node, depth] = pending.pop()!
    if (node === null || node === undefined || typeof node === "string" || typeof node === "number" || typeof node === "boolean") continue
    if (typeof node !== "object" || depth > limit) return false
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        if (node[i] === undefined) return false // a hole or undefined: not JSON
        pending.push([node[i], depth + 1])
      }
      continue
    }
    if (Object.getPrototypeOf(node) !== Object.prototype) return false
    for (const child of Object.values(node)) pending.push([child, depth + 1])
  }
  return true
}

/** The parameters of a body that passed `rpcBodyProblem`, as the resolver will receive them. */
function rpcParams(body: unknown): unknown {
  const { params, meta } = body as { params: unknown; meta?: { params?: unknown } | null }
  return superjson.deserialize({ json: params as never, meta: meta?.params as never })
}

function jsonError(status: number, name: string, message: string) {
  return Response.json({ result: null, error: { name, message, statusCode: status } }, { status })
}

/** Seconds a client is asked to wait while the database is unreachable. */
const DATABASE_RETRY_AFTER_SECONDS = 5

/** A database that is down is not a fault of the request: one line in the log, no stack. */
function logDatabaseUnreachable(error: unknown) {
  log.warn({ database: lastMessageLine(error) }, `${DATABASE_UNREACHABLE_MESSAGE} (answered 503)`)
}

function databaseUnreachableResponse() {
  const response = jsonError(503, "DatabaseUnavailableError", DATABASE_UNREACHABLE_MESSAGE)
  response.headers.set("retry-after", String(DATABASE_RETRY_AFTER_SECONDS))
  return response
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
    runWithRequestMeta(requestMetaFromHeaders(request.headers), async () => {
      const { counter, result } = countStatements(() => serve(request, segment))
      const response = await result
      if (serverConfig.http.sqlStatementHeader) response.headers.set(STATEMENT_HEADER, String(counter.statements))
      return response
    })

  async function serve(request: Request, segment: Segment): Promise<Response> {
    if (declaresTooLargeBody(request, MAX_RPC_BODY_BYTES)) {
      return jsonError(413, "PayloadTooLargeError", "The request body is too large")
    }
    let params: unknown = null
    if (request.method === "POST") {
      const body = await readJsonBody(request, MAX_RPC_BODY_BYTES)
      if (!body.ok) return jsonError(body.problem.status, body.problem.name, body.problem.message)
      const problem = rpcBodyProblem(body.value)
      if (problem) return jsonError(400, "BadRequestError", problem)
      params = rpcParams(body.value)
      // The stream is consumed: Blitz reads the same bytes from a copy.
      request = new Request(request, { body: body.text })
    }
    try {
      const session = await resolveRouteSession(request)
      // Blitz's withBlitzAuth passes only the session as well.
      const call = () => handler(request, segment, { session } as Ctx)
      // An impersonated session's calls pass the guard rails (rules 8 and 9) here, and only here.
      const resolver = (await segment.params).blitz?.join("/") ?? ""
      let response = await gateRpcCall({ handle: session.$handle, userId: session.userId, resolver, params, call })
      // Blitz answers a resolver's error with HTTP 200; a database that is down is a 503.
      if (currentRequestMeta().databaseUnreachable) {
        response = new Response(response.body, { status: 503, headers: response.headers })
        response.headers.set("retry-after", String(DATABASE_RETRY_AFTER_SECONDS))
      }
      return sendWithSession(session, response)
    } catch (error) {
      const problem = sessionProblem(error)
      if (problem) {
        const response = jsonError(problem.status, problem.name, problem.message)
        if (problem.clearSessionCookie) response.headers.append("set-cookie", CLEAR_SESSION_COOKIE)
        return response
      }
      if ((error as Error)?.message?.startsWith("No resolver for path")) {
        return jsonError(404, "NotFoundError", "No such RPC resolver")
      }
      if (isDatabaseUnreachable(error)) {
        logDatabaseUnreachable(error)
        return databaseUnreachableResponse()
      }
      log.error({ err: error }, "RPC request failed")
      return jsonError(500, "InternalServerError", "Sorry, something went wrong on our side. Please try again.")
    }
  }
}

/** Bad input: what was wrong, in words, for the person or the API client. */
export class InputValidationError extends Error {
  name = "InputValidationError"
  statusCode = 400
}

type ZodIssueLike = { path: PropertyKey[]; message: string }

/** A validation failure in words: `field: what is wrong`, joined by "; ". */
export function describeZodIssues(issues: readonly ZodIssueLike[]): string {
  return issues
    .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ")
}

const EXPECTED_STATUS = new Set([400, 401, 403, 404, 409, 422, 429])

/**
 * Errors as RPC clients see them: validation failures list what was wrong, expected errors
 * (status 4xx) pass through, a database that cannot be reached is a 503 in words, anything
 * else is logged and answered with a generic message.
 */
export function formatRpcError(error: Error & { statusCode?: number; issues?: unknown }): Error {
  if (error.name === "ZodError" && Array.isArray(error.issues)) {
    const message = describeZodIssues(error.issues as ZodIssueLike[])
    log.info({ refused: { name: "InputValidationError", message } }, "RPC call refused")
    return new InputValidationError(message || "The input is not valid")
  }
  if (isDatabaseUnreachable(error)) {
    logDatabaseUnreachable(error)
    currentRequestMeta().databaseUnreachable = true
    return Object.assign(new Error(DATABASE_UNREACHABLE_MESSAGE), { name: "DatabaseUnavailableError", statusCode: 503 })
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

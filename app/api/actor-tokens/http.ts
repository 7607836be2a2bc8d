import type { SessionContext } from "@blitzjs/auth"
import { AuthenticationError } from "blitz"
import type { z } from "zod"
import "app/blitz-server" // installs Blitz's session configuration
import { ImpersonationRefusedError } from "app/core/errors"
import { log } from "app/core/log"
import { requestMetaFromHeaders, runWithRequestMeta } from "app/core/requestContext"
import { describeZodIssues } from "app/core/rpcRoute"
import { CLEAR_SESSION_COOKIE, declaresTooLargeBody, readJsonBody, resolveRouteSession, sendWithSession, sessionProblem } from "app/core/sessionRoute"
import { sessionHolder, type SessionHolder } from "app/impersonation/guard"

/**
 * The actor-token JSON API's route plumbing (described in ./openapi.json): the same body
 * limit, hostile-body checks and Blitz session handling as the RPC route, JSON errors with
 * real HTTP statuses, and the request's IP and user agent for the audit.
 */

export const MAX_API_BODY_BYTES = 64 * 1024

export type ApiErrorBody = {
  error: { name: string; message: string; statusCode: number; code?: string; meta?: Record<string, unknown> }
}

/** Tokens and personal data: never kept by a cache. */
const NO_STORE = { "cache-control": "no-store" }

export function apiJson(status: number, body: unknown): Response {
  return Response.json(body, { status, headers: NO_STORE })
}

export function apiError(status: number, name: string, message: string, code?: string, meta?: Record<string, unknown>): Response {
  const body: ApiErrorBody = { error: { name, message, statusCode: status, ...(code ? { code } : {}), ...(meta ? { meta } : {}) } }
  return apiJson(status, body)
}

/** Bad input, answered 400 with the schema's words. */
export class ApiInputError extends Error {
  name = "InputValidationError"
  statusCode = 400
}

/** Parses `value` with `schema`, or throws an ApiInputError naming what is wrong. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new ApiInputError(describeZodIssues(parsed.error.issues) || "The input is not valid")
  return parsed.data
}

type Handler<P> = (args: {
  request: Request
  session: SessionContext
  /** The parsed JSON body (POST with `body: "json"` only). */
  body: unknown
  params: P
}) => Promise<Response>

type RouteOptions = {
  /** "json": the body must be application/json within the limit; "none": the body is never read. */
  body: "json" | "none"
  /** The HTTP status of a refusal with this code (default 403). */
  refusalStatus?: (code: string) => number | undefined
}

/**
 * One route handler of the API. Transport problems (413, 415, non-JSON 400) come first, then
 * the session (Blitz's anti-CSRF check on non-GET requests with session cookies: 403; an
 * unreadable session cookie: 401), then the handler; its refusals become JSON errors.
 */
export function apiRoute<P = Record<string, never>>(options: RouteOptions, handler: Handler<P>) {
  return (request: Request, segment: { params: Promise<P> }) =>
    runWithRequestMeta(requestMetaFromHeaders(request.headers), async () => {
      if (declaresTooLargeBody(request, MAX_API_BODY_BYTES)) {
        return apiError(413, "PayloadTooLargeError", "The request body is too large")
      }
      let body: unknown = null
      if (options.body === "json") {
        const read = await readJsonBody(request, MAX_API_BODY_BYTES)
        if (!read.ok) return apiError(read.problem.status, read.problem.name, read.problem.message)
        body = read.value
      }
      let session: SessionContext
      try {
        session = await resolveRouteSession(request)
      } catch (error) {
        const problem = sessionProblem(error)
        if (!problem) return internalError(error)
        log.info({ refused: { name: problem.name, statusCode: problem.status } }, "API call refused")
        const response = apiError(problem.status, problem.name, problem.message)
        if (problem.clearSessionCookie) response.headers.append("set-cookie", CLEAR_SESSION_COOKIE)
        return response
      }
      const params = await segment.params
      let response: Response
      try {
        response = await handler({ request, session, body, params })
      } catch (error) {
        response = errorResponse(error, options)
      }
      // Also on refusals: a session rotated or created by this request must reach the client.
      return sendWithSession(session, response)
    })
}

function errorResponse(error: unknown, options: RouteOptions): Response {
  const { name, message, statusCode } = error as Error & { statusCode?: number }
  if (error instanceof ImpersonationRefusedError) {
    const status = options.refusalStatus?.(error.code) ?? 403
    log.info({ refused: { name, message, statusCode: status, code: error.code } }, "API call refused")
    return apiError(status, name, message, error.code, error.meta)
  }
  if (name === "AuthenticationError" || statusCode === 400) {
    const status = statusCode === 400 ? 400 : 401
    log.info({ refused: { name, message, statusCode: status } }, "API call refused")
    return apiError(status, name, message || "Sign in first")
  }
  return internalError(error)
}

function internalError(error: unknown): Response {
  log.error({ err: error }, "API request failed")
  return apiError(500, "InternalServerError", "Sorry, something went wrong on our side. Please try again.")
}

/** The signed-in person behind the session, or a 401. */
export async function requireHolder(session: SessionContext): Promise<SessionHolder> {
  const holder = await sessionHolder(session)
  if (!holder) throw new AuthenticationError("Sign in first: this API takes the session cookies of the login RPC")
  return holder
}

import Ajv2020 from "ajv/dist/2020"
import addFormats from "ajv-formats"
import openapi from "app/api/actor-tokens/openapi.json"
import * as collectionRoute from "app/api/actor-tokens/route"
import * as revokeRoute from "app/api/actor-tokens/[id]/revoke/route"
import * as redeemRoute from "app/api/actor-tokens/redeem/route"
import type { TestBrowser } from "./browser"

/**
 * The actor-token JSON API called through its real route handlers, in-process, from a
 * TestBrowser (cookies, anti-CSRF header). Every response is checked against the OpenAPI
 * document: its status must be documented for that path and method, and its body must match
 * the schema given there.
 */

export const API_HOST = "localhost:3999"
export const API_ORIGIN = `http://${API_HOST}`

export const OPENAPI_DOCUMENT = openapi as unknown as OpenApiDocument

type OpenApiDocument = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictSchema: false })
addFormats(ajv)
ajv.addSchema(openapi, "openapi.json")

function pointerEscape(segment: string) {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1")
}

/** Throws unless `body` is what the document promises for this path, method and status. */
export function checkAgainstOpenApi(template: string, method: string, status: number, contentType: string | null, body: unknown) {
  const operation = OPENAPI_DOCUMENT.paths[template]?.[method.toLowerCase()]
  if (!operation) throw new Error(`OpenAPI: ${method} ${template} is not documented`)
  const response = operation.responses[String(status)]
  if (!response) throw new Error(`OpenAPI: ${method} ${template} does not document status ${status}`)
  if (!response.content?.["application/json"]) throw new Error(`OpenAPI: ${method} ${template} ${status} has no JSON body`)
  if (!contentType?.startsWith("application/json")) {
    throw new Error(`OpenAPI: ${method} ${template} ${status} answered ${contentType}, not application/json`)
  }
  const pointer = ["paths", template, method.toLowerCase(), "responses", String(status), "content", "application/json", "schema"]
    .map(pointerEscape)
    .join("/")
  const validate = ajv.getSchema(`openapi.json#/${pointer}`)
  if (!validate) throw new Error(`OpenAPI: no schema at ${pointer}`)
  if (!validate(body)) {
    throw new Error(
      `OpenAPI: ${method} ${template} ${status} body does not match: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    )
  }
}

type Route = { template: string; handler: (request: Request) => Promise<Response> }

function routeFor(method: string, path: string): Route {
  const { pathname } = new URL(path, API_ORIGIN)
  if (pathname === "/api/actor-tokens") {
    const handler = method === "GET" ? collectionRoute.GET : collectionRoute.POST
    return { template: "/api/actor-tokens", handler: (request) => handler(request, { params: Promise.resolve({}) }) }
  }
  if (pathname === "/api/actor-tokens/redeem") {
    return {
      template: "/api/actor-tokens/redeem",
      handler: (request) => redeemRoute.POST(request, { params: Promise.resolve({}) }),
    }
  }
  const revoke = /^\/api\/actor-tokens\/([^/]+)\/revoke$/.exec(pathname)
  if (revoke) {
    const id = decodeURIComponent(revoke[1]!)
    return {
      template: "/api/actor-tokens/{id}/revoke",
      handler: (request) => revokeRoute.POST(request, { params: Promise.resolve({ id }) }),
    }
  }
  throw new Error(`no actor-token route for ${path}`)
}

export type ApiResponse<T = Record<string, unknown>> = {
  status: number
  body: T & { error?: { name: string; message: string; statusCode: number; code?: string } }
  raw: Response
}

export type ApiCall = {
  /** A JSON value to send (serialized here), or `raw` to send bytes as they are. */
  json?: unknown
  raw?: BodyInit
  contentType?: string | null
  csrf?: boolean
  headers?: Record<string, string>
}

/** Calls the API as `browser`, checks the response against the OpenAPI document, and returns it. */
export async function callApi<T = Record<string, unknown>>(
  browser: TestBrowser,
  method: "GET" | "POST",
  path: string,
  call: ApiCall = {},
): Promise<ApiResponse<T>> {
  const route = routeFor(method, path)
  const headers: Record<string, string> = { host: API_HOST, ...call.headers }
  const body = call.raw ?? (call.json === undefined ? null : JSON.stringify(call.json))
  const contentType = call.contentType === undefined ? (body === null ? null : "application/json") : call.contentType
  if (contentType) headers["content-type"] = contentType
  const raw = await browser.send(route.handler, `${API_ORIGIN}${path}`, { method, body, headers, csrf: call.csrf })
  const text = await raw.clone().text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error(`${method} ${path} answered ${raw.status} with a body that is not JSON: ${text.slice(0, 200)}`)
  }
  checkAgainstOpenApi(route.template, method, raw.status, raw.headers.get("content-type"), parsed)
  return { status: raw.status, body: parsed as ApiResponse<T>["body"], raw }
}

/** The route modules and the methods they export, to compare with the document. */
export const ROUTE_MODULES = {
  "/api/actor-tokens": collectionRoute,
  "/api/actor-tokens/{id}/revoke": revokeRoute,
  "/api/actor-tokens/redeem": redeemRoute,
} as Record<string, Record<string, unknown>>

import { inspect } from "node:util"
import pino from "pino"
import { isDatabaseUnreachable, lastMessageLine } from "./errors"
import { currentRequestMeta } from "./requestContext"
import { serverConfig } from "./serverConfig"

/**
 * The app's one logger: JSON lines on stdout, the level from LOG_LEVEL, and the id of the
 * request being served on every line. Expected refusals go at info without a stack; faults at
 * error, with the stack (pino's `err` serializer), once.
 */
export const log = pino(
  {
    level: serverConfig.logLevel,
    base: undefined,
    mixin: () => ({ requestId: currentRequestMeta().requestId }),
  },
  process.stdout,
)

/** A client that went away mid-request: expected, not a fault of ours. */
function isClientAbort(error: Error & { code?: string }) {
  return error.code === "ECONNRESET" || error.message === "aborted"
}

/**
 * Sends what Next.js and Blitz print on the console through the same logger, so every line of
 * a running server is JSON with its request id. Only an Error passed to console.error keeps its
 * stack; Blitz's console.log of an expected refusal (a bad session cookie) stays one info line.
 */
export function routeConsoleThroughLogger() {
  const text = (args: unknown[]) =>
    args
      .map((arg) => (arg instanceof Error ? `${arg.name}: ${arg.message}` : typeof arg === "string" ? arg : inspect(arg)))
      .join(" ")
  console.log = console.info = (...args: unknown[]) => log.info(text(args))
  console.debug = (...args: unknown[]) => log.debug(text(args))
  console.warn = (...args: unknown[]) => log.warn(text(args))
  console.error = (...args: unknown[]) => {
    const error = args.find((arg): arg is Error => arg instanceof Error)
    if (!error) return log.error(text(args))
    if (isClientAbort(error)) return log.info(`Client closed the connection: ${text(args)}`)
    // A page rendered while the database is down: one line, not a stack per request.
    if (isDatabaseUnreachable(error)) return log.warn({ database: lastMessageLine(error) }, `The database is not reachable: ${text(args.filter((arg) => arg !== error)) || "request failed"}`)
    log.error({ err: error }, text(args.filter((arg) => arg !== error)) || error.message)
  }
}

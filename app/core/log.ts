import pino from "pino"
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

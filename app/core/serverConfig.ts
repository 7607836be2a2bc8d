import { loadServerConfig } from "blitz.config"

/** Parsed once per process; a bad environment stops the server at its first request. */
export const serverConfig = loadServerConfig()

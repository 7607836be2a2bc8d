import type { SqlDriverAdapter, SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils"
import { PrismaClient } from "./generated/client"
import { engineFromEnv, openEmbedded, type Engine } from "./engine"

export * from "./generated/client"

function adapterFor(engine: Engine): SqlDriverAdapterFactory {
  if (engine.kind === "postgres") {
    // Imported lazily so that the embedded default never loads the pg driver, and vice versa.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PrismaPg } = require("@prisma/adapter-pg") as typeof import("@prisma/adapter-pg")
    return new PrismaPg({ connectionString: engine.url, max: 10 })
  }
  // The embedded database is opened (and migrated) on the first query, not at import, so that
  // `next build` and other processes that only import this module never take its lock.
  return {
    provider: "postgres",
    adapterName: "pglite-prisma-adapter",
    async connect() {
      const { PrismaPGlite } = await import("pglite-prisma-adapter")
      // The adapter is typed against an older @prisma/driver-adapter-utils; the protocol matches.
      const adapter = await new PrismaPGlite(await openEmbedded(engine.dataDir)).connect()
      return adapter as unknown as SqlDriverAdapter
    },
  }
}

export const engine = engineFromEnv()

const globalForDb = globalThis as unknown as { __prisma?: PrismaClient }
const db = (globalForDb.__prisma ??= new PrismaClient({ adapter: adapterFor(engine) }))

export default db

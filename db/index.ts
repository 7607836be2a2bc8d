import type { SqlDriverAdapter, SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils"
import { Prisma, PrismaClient } from "./generated/client"
import { engineFromEnv, openEmbedded, poolSizeFromEnv, type Engine } from "./engine"
import { WRITES, makeGuardRails, type DataModel } from "./guardRails"
import { currentDbScope } from "./scope"
import { countingAdapterFactory } from "./statements"

export * from "./generated/client"

function adapterFor(engine: Engine): SqlDriverAdapterFactory {
  if (engine.kind === "postgres") {
    // Imported lazily so that the embedded default never loads the pg driver, and vice versa.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PrismaPg } = require("@prisma/adapter-pg") as typeof import("@prisma/adapter-pg")
    return new PrismaPg({ connectionString: engine.url, max: poolSizeFromEnv() })
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

/**
 * The app's one client: Prisma, plus the guard rails every query passes (db/guardRails.ts:
 * masking and attribution while impersonating), plus the request's transaction: while the RPC
 * route runs an impersonated mutation inside one (so that its audit event commits or rolls back
 * with the change), every query of that request, from any module, goes to it.
 */
function createClient(): PrismaClient {
  const base = new PrismaClient({ adapter: countingAdapterFactory(adapterFor(engine)) })
  const rails = makeGuardRails((base as unknown as { _runtimeDataModel: DataModel })._runtimeDataModel)
  const extended = base.$extends({
    name: "impersonation-guard-rails",
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const scope = currentDbScope()
          const impersonation = scope?.impersonation ?? null
          if (scope?.writesRefused && WRITES.has(operation)) {
            // A query of an impersonated session that tries to write (a misfiled resolver).
            throw Object.assign(new Error("Read-only impersonation: this action is not allowed"), {
              name: "ImpersonationRefusedError",
              code: "IMPERSONATION_READ_ONLY",
              statusCode: 403,
            })
          }
          const written = rails.attribute(model, operation, args as Record<string, unknown>, impersonation?.actorId ?? null)
          const result = await query(written as typeof args)
          if (!impersonation || scope?.unmasked || !rails.masksModel(model)) return result
          return rails.mask(model, result)
        },
      },
    },
  })
  // Query extensions do not change any type: the extended client is used as a PrismaClient.
  const client = extended as unknown as PrismaClient
  return new Proxy(client, {
    get(target, property, receiver) {
      const tx = currentDbScope()?.transaction as Prisma.TransactionClient | null | undefined
      if (!tx) return Reflect.get(target, property, receiver)
      if (property === "$transaction") {
        // Nested in the request's transaction: the callback runs in it, a batch runs in order.
        return async (arg: unknown) => {
          if (typeof arg === "function") return (arg as (t: Prisma.TransactionClient) => unknown)(tx)
          const results = []
          for (const item of arg as Promise<unknown>[]) results.push(await item)
          return results
        }
      }
      if (typeof property === "string" && property in tx) return (tx as unknown as Record<string, unknown>)[property]
      return Reflect.get(target, property, receiver)
    },
  })
}

const globalForDb = globalThis as unknown as { __prisma?: PrismaClient; __prismaBase?: PrismaClient }
const db = (globalForDb.__prisma ??= createClient())

export default db

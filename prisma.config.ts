import path from "node:path"
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils"
import { defineConfig } from "prisma/config"

// Prisma's CLI is used here only to `generate` the client and to author migration SQL with
// `migrate diff`; migrations are applied by db/migrate.ts. The JS engine with a driver adapter
// keeps the CLI offline (the classic engine downloads a binary before every command).
process.env.DATABASE_URL ??= "postgresql://embedded@localhost/pglite"

export default defineConfig({
  experimental: { adapter: true },
  schema: path.join("db", "schema.prisma"),
  migrations: { path: path.join("db", "migrations") },
  engine: "js",
  async adapter() {
    const { PGlite } = await import("@electric-sql/pglite")
    const { pg_trgm } = await import("@electric-sql/pglite/contrib/pg_trgm")
    const { PrismaPGlite } = await import("pglite-prisma-adapter")
    const factory = new PrismaPGlite(new PGlite({ extensions: { pg_trgm } }))
    // Typed against an older @prisma/driver-adapter-utils than the CLI's; the protocol matches.
    return factory as unknown as SqlMigrationAwareDriverAdapterFactory
  },
})

import { inject } from "vitest"

// Runs in each test worker before any app module is imported: db/index.ts reads these.
const databaseUrl = inject("databaseUrl")
if (databaseUrl) {
  process.env.DATABASE_URL = databaseUrl
} else {
  delete process.env.DATABASE_URL
  process.env.PGLITE_DATA_DIR = "memory://"
}

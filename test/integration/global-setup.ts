import type { TestProject } from "vitest/node"
import { migratePostgres } from "db/migrate"
import { createScratchDatabase } from "test/helpers/postgres"

/**
 * TEST_DB_ENGINE picks the engine: "pglite" (default; each test file gets an in-memory
 * embedded database) or "postgres" (a fresh database on TEST_POSTGRES_URL, dropped afterwards).
 */
declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string | null
  }
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_DB_ENGINE !== "postgres") {
    project.provide("databaseUrl", null)
    return
  }
  const database = await createScratchDatabase("impersonation_test")
  await migratePostgres(database.url)
  project.provide("databaseUrl", database.url)
  return database.drop
}

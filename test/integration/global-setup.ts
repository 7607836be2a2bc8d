import type { TestProject } from "vitest/node"
import { migratePostgres } from "db/migrate"

/**
 * TEST_DB_ENGINE picks the engine: "pglite" (default; each test file gets an in-memory
 * embedded database) or "postgres" (a fresh database on TEST_POSTGRES_URL, dropped afterwards).
 */
declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string | null
  }
}

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export default async function setup(project: TestProject) {
  if (process.env.TEST_DB_ENGINE !== "postgres") {
    project.provide("databaseUrl", null)
    return
  }
  const { Client } = await import("pg")
  const name = `impersonation_test_${process.pid}_${Date.now()}`
  const admin = new Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE "${name}"`)
  await admin.end()
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  await migratePostgres(url.toString())
  project.provide("databaseUrl", url.toString())
  return async () => {
    const client = new Client({ connectionString: ADMIN_URL })
    await client.connect()
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    await client.end()
  }
}

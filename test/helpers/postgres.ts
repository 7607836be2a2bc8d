import crypto from "node:crypto"
import { Client } from "pg"

/** The server that PostgreSQL test runs use to create and drop their own databases. */
export const POSTGRES_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** Whether the PostgreSQL server of the test runs answers (3 s at most). */
export async function postgresReachable(url = POSTGRES_ADMIN_URL): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.end()
    return true
  } catch {
    return false
  }
}

async function asAdmin(sql: string) {
  const admin = new Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(sql)
  } finally {
    await admin.end()
  }
}

/** Creates an empty database named after `prefix`; `drop` removes it, connections and all. */
export async function createScratchDatabase(prefix: string) {
  const name = `${prefix}_${process.pid}_${Date.now()}_${crypto.randomBytes(3).toString("hex")}`
  await asAdmin(`CREATE DATABASE "${name}"`)
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => asAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  }
}

import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { inject } from "vitest"

// Runs in each test worker before any app module is imported: db/index.ts reads these.
const databaseUrl = inject("databaseUrl")
if (databaseUrl) {
  process.env.DATABASE_URL = databaseUrl
} else {
  delete process.env.DATABASE_URL
  process.env.PGLITE_DATA_DIR = "memory://"
}

// A fixed audit key, and checkpoints in a file of this test file's own (never the demo's .data/).
process.env.AUDIT_HMAC_KEY = "integration-test-audit-key-0123456789abcdef"
process.env.AUDIT_CHECKPOINT_FILE = path.join(
  fs.mkdtempSync(path.join(os.tmpdir(), "audit-checkpoints-")),
  "audit-checkpoints.jsonl",
)

// Every RPC answer reports the SQL statements it sent (statement-budget.test.ts reads it).
process.env.SQL_STATEMENT_HEADER = "true"

import { AsyncLocalStorage } from "node:async_hooks"
import type { SqlDriverAdapter, SqlDriverAdapterFactory, Transaction } from "@prisma/driver-adapter-utils"

/**
 * Counts the SQL statements this process sends to its database engine, at the driver adapter
 * (the last step before the engine): every query, plus each transaction's BEGIN and its COMMIT
 * or ROLLBACK, whichever side sends them (adapter-pg lets Prisma send COMMIT as a query; the
 * PGlite adapter sends BEGIN and COMMIT itself). A count per piece of work (a request) and one
 * per process; the RPC route can report a request's count (`X-Sql-Statements`).
 */

type Counter = { statements: number }

// Per process, not per bundled copy of this module (see db/scope.ts): the shared client counts
// into whatever counter the request being served started, from any copy.
const shared = globalThis as { __sqlStatementStorage?: AsyncLocalStorage<Counter>; __sqlStatementTotal?: Counter }
const storage = (shared.__sqlStatementStorage ??= new AsyncLocalStorage<Counter>())
const total = (shared.__sqlStatementTotal ??= { statements: 0 })

function count() {
  total.statements++
  const current = storage.getStore()
  if (current) current.statements++
}

/** Runs `fn`, counting the statements its queries send; `counter.statements` holds them. */
export function countStatements<T>(fn: () => T): { counter: Counter; result: T } {
  const counter: Counter = { statements: 0 }
  return { counter, result: storage.run(counter, fn) }
}

/** Runs `fn` counting into no request's counter (work a request starts for later, such as a timer). */
export function outsideStatementCount<T>(fn: () => T): T {
  return storage.exit(fn)
}

/** The counter of the work being served now, if any (see `creditStatement`). */
export function currentStatementCounter(): Counter | undefined {
  return storage.getStore()
}

/**
 * Counts one statement for `counter`'s work that shared work sent on its behalf (a group
 * append carrying its event, app/audit/log.ts); the process total counted it when it was sent.
 */
export function creditStatement(counter: Counter | undefined) {
  if (counter) counter.statements++
}

/** Statements this process has sent since it started. */
export function statementsSent(): number {
  return total.statements
}

function wrapTransaction(tx: Transaction): Transaction {
  // Where the adapter sends COMMIT/ROLLBACK itself, Prisma does not send it as a query.
  const phantom = tx.options.usePhantomQuery
  return Object.assign(Object.create(tx) as Transaction, {
    queryRaw: (query: Parameters<Transaction["queryRaw"]>[0]) => (count(), tx.queryRaw(query)),
    executeRaw: (query: Parameters<Transaction["executeRaw"]>[0]) => (count(), tx.executeRaw(query)),
    commit: () => (phantom && count(), tx.commit()),
    rollback: () => (phantom && count(), tx.rollback()),
  })
}

function wrapAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  return Object.assign(Object.create(adapter) as SqlDriverAdapter, {
    queryRaw: (query: Parameters<SqlDriverAdapter["queryRaw"]>[0]) => (count(), adapter.queryRaw(query)),
    executeRaw: (query: Parameters<SqlDriverAdapter["executeRaw"]>[0]) => (count(), adapter.executeRaw(query)),
    executeScript: (script: string) => (count(), adapter.executeScript(script)),
    startTransaction: async (isolationLevel?: Parameters<SqlDriverAdapter["startTransaction"]>[0]) => {
      count() // BEGIN, sent by the adapter (and SET TRANSACTION when a level is asked: never here)
      return wrapTransaction(await adapter.startTransaction(isolationLevel))
    },
  })
}

/** The adapter factory with every statement its connections send counted. */
export function countingAdapterFactory(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  return Object.assign(Object.create(factory) as SqlDriverAdapterFactory, {
    connect: async () => wrapAdapter(await factory.connect()),
  })
}

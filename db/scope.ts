import { AsyncLocalStorage } from "node:async_hooks"
import { outsideStatementCount } from "./statements"

/**
 * What the database layer must know about the request being served (set by the RPC route,
 * app/core/rpcRoute.ts): whether it is impersonated (results are masked, writes attributed to
 * the admin), whether a Reveal is reading the one value it shows, the transaction an
 * impersonated mutation runs in (every query of the request goes to it), and the outbox
 * messages held during it (for the audit event).
 */
export type ScopeImpersonation = {
  id: number
  actorId: number
  subjectId: number
  mode: "READ_ONLY" | "READ_WRITE"
}

export type DbScope = {
  impersonation: ScopeImpersonation | null
  unmasked: boolean
  transaction: unknown | null
  heldMessageIds: number[]
  /** A read-only call (an impersonated query): any model write is refused by db/index.ts. */
  writesRefused: boolean
}

// One store per process, not per module copy: Next bundles instrumentation.ts (which starts the
// outbox worker, and so may create the shared Prisma client of db/index.ts first) apart from the
// app. A client created there must still see the scope the app's RPC gate sets, or an
// impersonated call's queries would miss its transaction (a deadlock on the embedded engine) and
// its masking.
const storage = ((globalThis as { __dbScopeStorage?: AsyncLocalStorage<DbScope> }).__dbScopeStorage ??=
  new AsyncLocalStorage<DbScope>())

export function runInDbScope<T>(scope: Partial<DbScope>, fn: () => T): T {
  const outer = storage.getStore()
  return storage.run(
    {
      impersonation: scope.impersonation ?? outer?.impersonation ?? null,
      unmasked: scope.unmasked ?? outer?.unmasked ?? false,
      transaction: scope.transaction ?? outer?.transaction ?? null,
      heldMessageIds: scope.heldMessageIds ?? outer?.heldMessageIds ?? [],
      writesRefused: scope.writesRefused ?? outer?.writesRefused ?? false,
    },
    fn,
  )
}

export function currentDbScope(): DbScope | undefined {
  return storage.getStore()
}

/** The impersonation behind the request being served, or null. */
export function currentImpersonation(): ScopeImpersonation | null {
  return storage.getStore()?.impersonation ?? null
}

/** Runs `fn` with sensitive fields unmasked: only for revealSensitiveField's one read. */
export function readUnmasked<T>(fn: () => T): T {
  return runInDbScope({ unmasked: true }, fn)
}

/**
 * Runs `fn` outside any request's scope: work started now but done later (timers) must not
 * reach a request's transaction, which will be gone by then, nor count as the request's
 * statements (db/statements.ts).
 */
export function outsideDbScope<T>(fn: () => T): T {
  return storage.exit(() => outsideStatementCount(fn))
}

import fs from "node:fs"
import fc from "fast-check"
import superjson from "superjson"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { sealAuditEvent } from "app/audit/hash"
import { sealPendingAuditEvents } from "app/audit/sealer"
import { auditKey } from "app/audit/key"
import { POST as rpcPost } from "app/api/rpc/[[...blitz]]/route"
import * as collectionRoute from "app/api/actor-tokens/route"
import * as revokeRoute from "app/api/actor-tokens/[id]/revoke/route"
import * as redeemRoute from "app/api/actor-tokens/redeem/route"
import { TestBrowser } from "test/helpers/browser"
import { createOrganization, createUser, PASSWORD } from "test/helpers/fixtures"
import {
  NO_INPUT_MUTATIONS,
  answerLabel,
  answerProblem,
  apiBody,
  describeBody,
  idSegment,
  isNoInputCall,
  resolverFiles,
  rpcBody,
  snapshotDatabase,
  snapshotDifferences,
  statusQuery,
  unexpectedAuditRows,
  type DbSnapshot,
  type FuzzBody,
} from "test/helpers/fuzz"
import { signIn } from "test/helpers/session"

/**
 * Issue 9, item 1: generated hostile bodies sent to every RPC resolver and every JSON API
 * route, in-process through the real route handlers, as an anonymous caller, a signed-in
 * user, an admin and an impersonating session. No answer may be a 5xx, nothing in the
 * database may change (beyond the audit rows refusals write), and the caller must still be
 * who they were. FUZZ_RUNS bodies per target and identity (a few here; `npm run fuzz` sends
 * 10,000+), FUZZ_SEED to replay a run, FUZZ_REPORT to write the counts as JSON.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 4)
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
/** Check the database after every body instead of after each target (slower, names the body). */
const EACH = process.env.FUZZ_SNAPSHOT_EACH === "1"
const API_ORIGIN = "http://localhost:3999"

type Identity = "anonymous" | "user" | "admin" | "impersonating"
type Target = { name: string; send: (browser: TestBrowser, body: FuzzBody, extra: string) => Promise<Response>; bodies: fc.Arbitrary<[FuzzBody, string]> }
type Count = { identity: Identity; target: string; sent: number; skipped: number; failed: number }

const counts: Count[] = []
/** How the bodies were answered, e.g. "400 BadRequestError" -> 812 (shows how far they got). */
const answers: Record<string, number> = {}
const failures: string[] = []

function headersFor(body: FuzzBody): Record<string, string> {
  return body.contentType === null ? {} : { "content-type": body.contentType }
}

const resolvers = resolverFiles()
const targets: Target[] = [
  ...resolvers.map(({ name }) => ({
    name: `rpc ${name}`,
    bodies: fc.tuple(rpcBody, fc.constant("")),
    send: (browser: TestBrowser, body: FuzzBody) =>
      browser.send((request) => rpcPost(request, { params: Promise.resolve({ blitz: [name] }) }), `http://localhost/api/rpc/${name}`, {
        method: "POST",
        body: body.body as BodyInit,
        headers: headersFor(body),
      }),
  })),
  {
    name: "POST /api/actor-tokens",
    bodies: fc.tuple(apiBody, fc.constant("")),
    send: (browser, body) =>
      browser.send((request) => collectionRoute.POST(request, { params: Promise.resolve({}) }), `${API_ORIGIN}/api/actor-tokens`, {
        method: "POST",
        body: body.body as BodyInit,
        headers: headersFor(body),
      }),
  },
  {
    name: "GET /api/actor-tokens",
    bodies: fc.tuple(fc.constant<FuzzBody>({ kind: "query", body: "", contentType: null }), statusQuery),
    send: (browser, _body, query) =>
      browser.send((request) => collectionRoute.GET(request, { params: Promise.resolve({}) }), `${API_ORIGIN}/api/actor-tokens${query}`, {
        method: "GET",
      }),
  },
  {
    name: "POST /api/actor-tokens/redeem",
    bodies: fc.tuple(apiBody, fc.constant("")),
    send: (browser, body) =>
      browser.send((request) => redeemRoute.POST(request, { params: Promise.resolve({}) }), `${API_ORIGIN}/api/actor-tokens/redeem`, {
        method: "POST",
        body: body.body as BodyInit,
        headers: headersFor(body),
      }),
  },
  {
    name: "POST /api/actor-tokens/{id}/revoke",
    bodies: fc.tuple(apiBody, idSegment),
    send: (browser, body, id) =>
      browser.send(
        (request) => revokeRoute.POST(request, { params: Promise.resolve({ id }) }),
        `${API_ORIGIN}/api/actor-tokens/${encodeURIComponent(id)}/revoke`,
        { method: "POST", body: body.body as BodyInit, headers: headersFor(body) },
      ),
  },
]

/** Who the browser is, as the server sees it: user, impersonation and session handle. */
async function identityOf(browser: TestBrowser) {
  const me = await browser.rpc<{ id: number; impersonator: { id: number } | null; impersonationExpiresAt: Date | null }>(
    "getCurrentUser",
  )
  const page = await browser.pageSession()
  const row = page.$handle ? await db.session.findUnique({ where: { handle: page.$handle } }) : null
  return {
    error: me.error,
    userId: me.result?.id ?? null,
    impersonatorId: me.result?.impersonator?.id ?? null,
    handle: page.$handle ?? null,
    sessionRow: row ? { userId: row.userId, impersonationId: row.impersonationId, publicData: row.publicData } : null,
  }
}

/** Differences from `before`, the audit rows refusals may add left aside; empty when nothing changed. */
async function changesSince(before: DbSnapshot): Promise<string[]> {
  const after = await snapshotDatabase(before.lastAuditId)
  const unexpected = await unexpectedAuditRows(before.lastAuditId)
  const signInRefused = (await db.auditEvent.count({
    where: { id: { gt: before.lastAuditId }, action: { in: ["SIGN_IN_FAILED", "IMPERSONATION_REFUSED"] } },
  })) > 0
  // A refused sign-in (or a wrong step-up password) counts in the sign-in throttle on purpose.
  const differences = snapshotDifferences(before, after).filter((line) => !(signInRefused && line.startsWith("LoginThrottle:")))
  return [...differences, ...unexpected]
}

async function fuzzAs(identity: Identity, signInAgain: () => Promise<TestBrowser>, targetSeedBase: number) {
  let browser = await signInAgain()
  let expected = await identityOf(browser)
  for (const [index, target] of targets.entries()) {
    const count: Count = { identity, target: target.name, sent: 0, skipped: 0, failed: 0 }
    counts.push(count)
    const samples = fc.sample(target.bodies, { numRuns: RUNS, seed: SEED + targetSeedBase + index })
    let before = await snapshotDatabase()
    const resolver = target.name.startsWith("rpc ") ? target.name.slice(4) : null
    for (const [body, extra] of samples) {
      // A valid no-input call (logout with {}) changes things on purpose: not fuzz.
      if (resolver && NO_INPUT_MUTATIONS.has(resolver) && readsAsNoInput(body)) {
        count.skipped++
        continue
      }
      count.sent++
      const where = `${identity} ${target.name} ${describeBody(body)}${extra ? ` path/query ${JSON.stringify(extra.slice(0, 100))}` : ""}`
      let problem: string | null
      try {
        const response = await target.send(browser, body, extra)
        problem = await answerProblem(response)
        const label = await answerLabel(response)
        answers[label] = (answers[label] ?? 0) + 1
      } catch (error) {
        problem = `threw ${(error as Error).stack ?? String(error)}`
      }
      if (!problem && EACH) {
        const changes = await changesSince(before)
        if (changes.length) problem = `changed the database: ${changes.join("; ")}`
        before = await snapshotDatabase()
      }
      if (problem) {
        count.failed++
        failures.push(`${where}\n  -> ${problem}`)
      }
    }
    const changes = EACH ? [] : await changesSince(before)
    const now = await identityOf(browser)
    const problems = [
      ...(changes.length ? [`changed the database: ${changes.join("; ")}`] : []),
      ...(JSON.stringify(now) !== JSON.stringify(expected) ? [`identity changed: ${JSON.stringify(expected)} -> ${JSON.stringify(now)}`] : []),
    ]
    if (problems.length) {
      count.failed++
      failures.push(`${identity} ${target.name} (after ${count.sent} bodies, seed ${SEED + targetSeedBase + index})\n  -> ${problems.join("\n  -> ")}`)
      // Start the next target from a known state, so one failure is reported once.
      browser = await signInAgain()
      expected = await identityOf(browser)
    }
  }
  return browser
}

/**
 * True when the route would hand the resolver no input (null, undefined or {}), whatever the
 * content type says: read as the RPC route reads it (JSON, then superjson with the meta).
 */
function readsAsNoInput(body: FuzzBody): boolean {
  const text = typeof body.body === "string" ? body.body : Buffer.from(body.body).toString("utf8")
  try {
    const parsed = JSON.parse(text) as { params?: unknown; meta?: { params?: unknown } | null }
    if (typeof parsed !== "object" || parsed === null || !("params" in parsed)) return false
    return isNoInputCall(superjson.deserialize({ json: parsed.params as never, meta: parsed.meta?.params as never }))
  } catch {
    return false
  }
}

let organizationId = 0
let lastAuditIdBefore = 0
beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
  organizationId = (await createOrganization("fuzz")).id
  lastAuditIdBefore = (await db.auditEvent.findFirst({ orderBy: { id: "desc" }, select: { id: true } }))?.id ?? 0
})

/**
 * The audit events written while fuzzing, each checked against its seal and its link to the
 * one before (on PostgreSQL the database is shared with other test files, whose tests of a
 * tampered chain are theirs to judge): what does not verify, in words.
 */
async function unverifiedAuditRowsSince(id: number): Promise<string[]> {
  const key = auditKey()
  await sealPendingAuditEvents() // events commit first and are sealed just after
  const rows = await db.auditEvent.findMany({ where: { id: { gt: id } }, orderBy: { chainPosition: "asc" } })
  const positionsBefore = rows.flatMap((row) => (row.chainPosition && row.chainPosition > 1 ? [row.chainPosition - 1] : []))
  const before = await db.auditEvent.findMany({
    where: { chainPosition: { in: positionsBefore } },
    select: { chainPosition: true, hash: true },
  })
  const hashAt = new Map(before.map((row) => [row.chainPosition, row.hash]))
  const problems: string[] = []
  for (const row of rows) {
    if (row.chainPosition === null) {
      problems.push(`event #${row.id} is not sealed`)
      continue
    }
    const prevHash = row.chainPosition === 1 ? null : (hashAt.get(row.chainPosition - 1) ?? "missing")
    if (row.prevHash !== prevHash) problems.push(`event #${row.id} does not link to the event before it`)
    if (row.hash !== sealAuditEvent(key, row.prevHash, { ...row, details: row.details as Record<string, unknown> })) {
      problems.push(`event #${row.id} does not match its seal: ${JSON.stringify(row.details).slice(0, 300)}`)
    }
  }
  return problems
}

afterAll(() => {
  if (process.env.FUZZ_REPORT) {
    const file = process.env.FUZZ_REPORT
    fs.writeFileSync(file, JSON.stringify({ seed: SEED, runs: RUNS, counts, failures, answers }))
  }
})

const TIMEOUT = 120_000 + RUNS * targets.length * 200

describe(`fuzzing every RPC resolver (${resolvers.length}) and JSON API route (4), ${RUNS} bodies each per identity, seed ${SEED}`, () => {
  function expectNoFailures(identity: Identity) {
    const mine = failures.filter((line) => line.startsWith(`${identity} `))
    expect(mine.slice(0, 20).join("\n\n")).toBe("")
    const sent = counts.filter((count) => count.identity === identity).reduce((sum, count) => sum + count.sent, 0)
    expect(sent).toBeGreaterThan(0)
  }

  it("as an anonymous caller", async () => {
    await fuzzAs("anonymous", async () => new TestBrowser(), 0)
    expectNoFailures("anonymous")
  }, TIMEOUT)

  it("as a signed-in user", async () => {
    const user = await createUser({ label: "fuzz-user", organization: { id: organizationId, role: "MEMBER" } })
    const browser = await fuzzAs("user", () => signIn(user), 1000)
    expectNoFailures("user")
    expect((await identityOf(browser)).userId).toBe(user.id)
  }, TIMEOUT)

  it("as an admin", async () => {
    const admin = await createUser({ label: "fuzz-admin", role: "SUPERADMIN", organization: { id: organizationId, role: "OWNER" } })
    const browser = await fuzzAs("admin", () => signIn(admin), 2000)
    expectNoFailures("admin")
    expect((await identityOf(browser)).userId).toBe(admin.id)
  }, TIMEOUT)

  it("as an impersonating session (read-write)", async () => {
    const support = await createUser({ label: "fuzz-support", role: "SUPPORT" })
    const target = await createUser({ label: "fuzz-target", organization: { id: organizationId, role: "MEMBER" } })
    let impersonationId = 0
    const startImpersonating = async () => {
      const browser = await signIn(support)
      const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
        userId: target.id,
        reason: "fuzzing",
        mode: "READ_WRITE",
        password: PASSWORD,
      })
      expect(started.error).toBeNull()
      impersonationId = started.result!.impersonationId
      return browser
    }
    const browser = await fuzzAs("impersonating", startImpersonating, 3000)
    expectNoFailures("impersonating")
    expect(await identityOf(browser)).toMatchObject({ userId: target.id, impersonatorId: support.id })
    const row = await db.impersonation.findUniqueOrThrow({ where: { id: impersonationId } })
    expect(row.endedAt).toBeNull()
  }, TIMEOUT)

  it("leaves every audit event it caused sealed and linked", async () => {
    expect(await db.auditEvent.count({ where: { id: { gt: lastAuditIdBefore } } })).toBeGreaterThan(0)
    expect(await unverifiedAuditRowsSince(lastAuditIdBefore)).toEqual([])
  })
})

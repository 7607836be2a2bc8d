import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { verifyAuditChain } from "app/audit/chain"
import { PASSWORD, createUser } from "test/helpers/fixtures"
import { snapshotDatabase, snapshotDifferences, unexpectedAuditRows } from "test/helpers/fuzz"
import { currentUser, signIn } from "test/helpers/session"

/**
 * What the fuzz test (fuzz.test.ts) found, each kept as a plain regression test with the body
 * that showed it.
 */

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

async function impersonateReadWrite() {
  const support = await createUser({ label: "support", role: "SUPPORT" })
  const target = await createUser({ label: "target" })
  const browser = await signIn(support)
  const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", {
    userId: target.id,
    reason: "fuzz regression",
    mode: "READ_WRITE",
    password: PASSWORD,
  })
  expect(started.error).toBeNull()
  return { browser, support, target, impersonationId: started.result!.impersonationId }
}

describe("bodies the fuzz test found", () => {
  it("refuses params that superjson turns into a Set or Map: zod's object() took them for {} and signOutEverywhere ran", async () => {
    const user = await createUser({ label: "fuzz-set" })
    const browser = await signIn(user)
    const before = await snapshotDatabase()
    const bodies = [
      // The body fast-check generated (seed 1): an array the meta turns into a Set.
      '{"params":[false,"",9007199254740950,-14,true],"meta":{"params":{"values":["set",{"2":["Date"]}]}}}',
      '{"params":[["a",1]],"meta":{"params":{"values":["map"]}}}',
      '{"params":"2020-01-01T00:00:00.000Z","meta":{"params":{"values":["Date"]}}}',
      '{"params":"12","meta":{"params":{"values":["bigint"]}}}',
      '{"params":{"a":[1,null]},"meta":{"params":{"values":{"a.1":["undefined"]}}}}',
    ]
    for (const body of bodies) {
      const res = await browser.rpcRaw("signOutEverywhere", body)
      expect(res.status, body).toBe(400)
      expect(res.error, body).toMatchObject({
        name: "BadRequestError",
        message: "The request parameters may hold only JSON values (no dates, maps, sets or big integers)",
      })
    }
    expect(snapshotDifferences(before, await snapshotDatabase(before.lastAuditId))).toEqual([])
    expect(await unexpectedAuditRows(before.lastAuditId)).toEqual([])
    expect((await currentUser(browser))?.id).toBe(user.id)
    // The same call with no input still signs out everywhere: the route refused only the Set.
    const ok = await browser.rpc("signOutEverywhere", {})
    expect(ok.error).toBeNull()
    expect(await currentUser(browser)).toBeNull()
  })

  it("records an impersonated call whose input holds a 17-digit float so that the audit chain still verifies", async () => {
    const { browser, impersonationId } = await impersonateReadWrite()
    // changePassword is refused while impersonating, and its input recorded. The float came back
    // from the database one digit short (1.877175350481209e-276), and the row no longer matched its seal.
    const res = await browser.rpcRaw("changePassword", '{"params":{"x":[1.8771753504812094e-276,0.1,1e308,-0]},"meta":{}}')
    expect(res.status).toBe(200)
    expect(res.error).toMatchObject({ code: "IMPERSONATION_REFUSED_ACTION", statusCode: 403 })
    const event = await db.auditEvent.findFirstOrThrow({
      where: { impersonationId, action: "IMPERSONATED_MUTATION" },
      orderBy: { id: "desc" },
    })
    expect((event.details as { input: unknown }).input).toEqual({ x: ["1.8771753504812094e-276", 0.1, 1e308, 0] })
    expect(await verifyAuditChain()).toMatchObject({ ok: true })
  })

  it("answers an impersonated call with undefined in a list (superjson meta) with a 400, not a 500", async () => {
    const { browser, target, support, impersonationId } = await impersonateReadWrite()
    const before = await db.auditEvent.count({ where: { impersonationId } })
    const res = await browser.rpcRaw(
      "redeemActorToken",
      '{"params":[[1,null,2]],"meta":{"params":{"values":{"0.1":["undefined"]}}}}',
    )
    expect(res.status).toBe(400)
    expect(res.error?.name).toBe("BadRequestError")
    expect(await db.auditEvent.count({ where: { impersonationId } })).toBe(before)
    expect(await currentUser(browser)).toMatchObject({ id: target.id, impersonator: { id: support.id } })
  })
})

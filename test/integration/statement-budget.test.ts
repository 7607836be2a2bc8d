import { describe, expect, it } from "vitest"
import { STATEMENT_HEADER } from "app/core/rpcRoute"
import type { TestBrowser } from "test/helpers/browser"
import { TestBrowser as Browser } from "test/helpers/browser"
import { createUser } from "test/helpers/fixtures"
import { signIn } from "test/helpers/session"

/**
 * Issue 9, item 5: what one call costs in SQL statements sent to the engine (db/statements.ts
 * counts them at the driver adapter, BEGIN and COMMIT included). The guard reads the session and
 * everyone behind it once; that read is reused by the RPC gate and by getCurrentUser.
 */

async function statementsOf(browser: TestBrowser, name: string, params: unknown = null) {
  const res = await browser.rpc(name, params)
  expect(res.error, `${name}: ${JSON.stringify(res.error)}`).toBeNull()
  const header = res.raw.headers.get(STATEMENT_HEADER)
  expect(header, `${name} answers with ${STATEMENT_HEADER}`).not.toBeNull()
  return { statements: Number(header), result: res.result }
}

/** The steady state: the first call of a session may move lastSeenAt or warm up. */
async function settled(browser: TestBrowser, name: string) {
  await statementsOf(browser, name)
  return (await statementsOf(browser, name)).statements
}

describe("statement budget", () => {
  it("getCurrentUser: no session, an ordinary session and an impersonation session", async () => {
    const support = await createUser({ label: "budget-support", role: "SUPPORT" })
    const target = await createUser({ label: "budget-target" })
    const anonymous = await settled(new Browser(), "getCurrentUser")
    const browser = await signIn(support)
    const ordinary = await settled(browser, "getCurrentUser")
    const start = await statementsOf(browser, "impersonateUser", { userId: target.id, reason: "budget" })
    const impersonated = await settled(browser, "getCurrentUser")
    const stop = await statementsOf(browser, "stopImpersonating", {})
    console.log({ anonymous, ordinary, impersonated, start: start.statements, stop: stop.statements })
    expect(anonymous).toBe(0)
    expect(ordinary).toBeLessThanOrEqual(2)
    expect(impersonated).toBeLessThanOrEqual(2)
    expect(start.statements).toBeLessThanOrEqual(8)
    expect(stop.statements).toBeLessThanOrEqual(6)
  })
})

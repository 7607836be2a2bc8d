import { beforeAll, describe, expect, it } from "vitest"
import db from "db"
import { PEER_ADDRESS_HEADER } from "app/core/clientAddress"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createUser } from "test/helpers/fixtures"

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

describe("audit IP (TRUST_PROXY=0, the default)", () => {
  it("records the address the server saw, not the client's X-Forwarded-For", async () => {
    const support = await createUser({ label: "support", role: "SUPPORT" })
    const target = await createUser({ label: "target" })
    const browser = new TestBrowser()
    await browser.login(support.email, PASSWORD)
    const headers = {
      [PEER_ADDRESS_HEADER]: "198.51.100.7",
      "x-forwarded-for": "6.6.6.6",
      "x-real-ip": "6.6.6.7",
    }
    const started = await browser.rpc("impersonateUser", { userId: target.id, reason: "ip" }, { headers })
    expect(started.error).toBeNull()
    const events = await db.auditEvent.findMany({ where: { actorId: support.id, action: "IMPERSONATION_STARTED" } })
    expect(events.map((event) => event.ip)).toEqual(["198.51.100.7"])
  })
})

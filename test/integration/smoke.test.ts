import { describe, expect, it } from "vitest"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createUser } from "test/helpers/fixtures"

describe("smoke", () => {
  it("logs in and impersonates", async () => {
    const support = await createUser({ role: "SUPPORT" })
    const target = await createUser()
    const browser = new TestBrowser()
    const login = await browser.login(support.email, PASSWORD)
    console.log(login.status, login.result, [...browser.cookies.keys()])
    const res = await browser.rpc("impersonateUser", { userId: target.id, reason: "ticket 1" })
    console.log(res.status, res.result, res.error)
    const me = await browser.rpc("getCurrentUser", null)
    console.log(me.result, me.error)
    expect(me.result).toMatchObject({ id: target.id })
  })
})

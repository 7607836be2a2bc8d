import { it } from "vitest"
import db from "db"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createUser } from "test/helpers/fixtures"

it("scratch", async () => {
  const support = await createUser({ role: "SUPPORT" })
  const target = await createUser()
  const b = new TestBrowser()
  await b.login(support.email, PASSWORD)
  console.log("cookies", [...b.cookies])
  const s0 = await b.pageSession()
  console.log("handle", s0.$handle, s0.userId, s0.$publicData)
  const r = await b.rpc("impersonateUser", { userId: target.id, reason: "r" })
  console.log(JSON.stringify({ s: r.status, r: r.result, e: r.error }))
  const n = await b.rpc("impersonateUser", { userId: target.id, reason: "r" })
  console.log("nested", JSON.stringify({ s: n.status, e: n.error }))
  const x = await b.rpc("stopImpersonating", null)
  console.log("stop-null", JSON.stringify({ s: x.status, r: x.result, e: x.error }))
  const y = await b.rpc("stopImpersonating", { userId: 3 })
  console.log("stop-uid", JSON.stringify({ s: y.status, r: y.result, e: y.error }))
  const inf = await b.rpcRaw("impersonateUser", '{"params":{"userId":1e309,"reason":"x"}}')
  console.log("inf", JSON.stringify({ s: inf.status, e: inf.error }))
  const ex = await b.rpc("impersonateUser", { userId: 5, reason: "x", foo: 1 })
  console.log("extra", JSON.stringify({ s: ex.status, e: ex.error }))
  const nocsrf = await b.rpc("logout", {}, { csrf: false })
  console.log("nocsrf", JSON.stringify({ s: nocsrf.status, e: nocsrf.error }))
  const wrong = await new TestBrowser().rpc("login", { email: support.email, password: "nope-nope-nope" })
  console.log("wrong", JSON.stringify({ s: wrong.status, e: wrong.error }))
  console.log("pd cookie", b.cookies.get("safe_imp_sPublicDataToken"))
  console.log(await db.session.count())
})

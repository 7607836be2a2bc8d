import { expect } from "vitest"
import type { StopResult } from "app/impersonation/mutations/stopImpersonating"
import type { CurrentUser } from "app/users/queries/getCurrentUser"
import { TestBrowser } from "./browser"
import { PASSWORD } from "./fixtures"

/** The steps integration tests take as a person in a browser: sign in, ask who am I, Stop. */

export async function signIn(user: { email: string }) {
  const browser = new TestBrowser()
  await browser.login(user.email, PASSWORD)
  return browser
}

export async function currentUser(browser: TestBrowser) {
  const res = await browser.rpc<CurrentUser>("getCurrentUser")
  expect(res.error).toBeNull()
  return res.result
}

export async function stop(browser: TestBrowser) {
  const res = await browser.rpc<StopResult>("stopImpersonating", {})
  expect(res.error).toBeNull()
  return res.result!
}

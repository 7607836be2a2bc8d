import { __internal_addBlitzRpcResolver } from "@blitzjs/rpc"
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest"
import db from "db"
import { log, routeConsoleThroughLogger } from "app/core/log"
import { TestBrowser } from "test/helpers/browser"
import { PASSWORD, createUser } from "test/helpers/fixtures"

type Line = { level: number; msg: string; requestId?: string; err?: { stack?: string }; refused?: object }

let written: string[] = []
let consoleCalls: unknown[][] = []

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
  // A resolver with a real fault, served by the real route like any other.
  __internal_addBlitzRpcResolver("/explodeForTest", "explodeForTest", () =>
    Promise.resolve({ default: () => Promise.reject(new TypeError("disk on fire")) }),
  )
})

beforeEach(() => {
  written = []
  consoleCalls = []
  log.level = "info"
  const capture = (chunk: unknown) => (written.push(String(chunk)), true)
  vi.spyOn(process.stdout, "write").mockImplementation(capture)
  vi.spyOn(process.stderr, "write").mockImplementation(capture)
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args) => void consoleCalls.push(args))
  }
})
afterEach(() => {
  vi.restoreAllMocks()
  log.level = process.env.LOG_LEVEL ?? "info"
})

function lines(): Line[] {
  return written.flatMap((chunk) => chunk.split("\n").filter(Boolean)).map((text) => JSON.parse(text) as Line)
}

describe("logs", () => {
  it("log an expected refusal as one info line without a stack, with the request id", async () => {
    const user = await createUser({ label: "refused" })
    const res = await new TestBrowser().rpc("login", { email: user.email, password: "wrong-password" })
    expect(res.error?.name).toBe("AuthenticationError")
    const logged = lines()
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ level: 30, msg: "RPC call refused", refused: { name: "AuthenticationError" } })
    expect(logged[0]!.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(JSON.stringify(logged[0])).not.toMatch(/stack|    at /)
    expect(consoleCalls).toEqual([])
  })

  it("log a validation refusal at info too", async () => {
    const res = await new TestBrowser().rpc("login", { email: "not-an-email", password: PASSWORD })
    expect(res.error?.name).toBe("InputValidationError")
    expect(lines()).toMatchObject([{ level: 30, msg: "RPC call refused" }])
    expect(consoleCalls).toEqual([])
  })

  it("log a real fault once, at error, with its stack, and answer a generic 500", async () => {
    const res = await new TestBrowser().rpc("explodeForTest", {})
    expect(res.error).toMatchObject({ name: "InternalServerError", statusCode: 500 })
    expect(res.error?.message).not.toMatch(/disk on fire/)
    const logged = lines()
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ level: 50, msg: "RPC call failed" })
    expect(logged[0]!.err?.stack).toMatch(/TypeError: disk on fire\n\s+at /)
    expect(logged[0]!.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(consoleCalls).toEqual([])
  })

  it("give each request its own id", async () => {
    const browser = new TestBrowser()
    await browser.rpc("login", { email: "a@fixture.example", password: "wrong-password" })
    await browser.rpc("login", { email: "b@fixture.example", password: "wrong-password" })
    // Only the two refusals: an audit checkpoint may be logged between them when the run is slow.
    const ids = lines()
      .filter((line) => line.msg === "RPC call refused")
      .map((line) => line.requestId)
    expect(ids).toHaveLength(2)
    expect(new Set(ids).size).toBe(2)
  })
})

describe("what Next.js and Blitz print on the console", () => {
  const methods = ["log", "info", "warn", "error", "debug"] as const
  let saved: Pick<Console, (typeof methods)[number]>

  beforeEach(() => {
    vi.restoreAllMocks() // keep the stdout capture only
    const capture = (chunk: unknown) => (written.push(String(chunk)), true)
    vi.spyOn(process.stdout, "write").mockImplementation(capture)
    saved = Object.fromEntries(methods.map((m) => [m, console[m]])) as typeof saved
    routeConsoleThroughLogger()
  })
  afterEach(() => Object.assign(console, saved))

  it("becomes JSON lines of the one logger: refusals without a stack, faults with it, aborts at info", () => {
    console.log(Object.assign(new Error("Session token version is not v0"), { name: "AuthenticationError" }))
    console.warn("This request is missing the anti-csrf header.")
    console.error(new TypeError("disk on fire"))
    console.error("⨯", Object.assign(new Error("aborted"), { code: "ECONNRESET" }))
    // A page rendered while PostgreSQL is down (npm run faults): one warning, no stack.
    console.error("⨯", Object.assign(new Error("\nInvalid `db.session.findUnique()` invocation:\n\nCan't reach database server at 127.0.0.1:4150"), { code: "P1001" }))

    const [refusal, warning, fault, abort, down] = lines()
    expect(refusal).toMatchObject({ level: 30, msg: "AuthenticationError: Session token version is not v0" })
    expect(refusal?.err).toBeUndefined()
    expect(warning).toMatchObject({ level: 40, msg: "This request is missing the anti-csrf header." })
    expect(fault).toMatchObject({ level: 50 })
    expect(fault?.err?.stack).toContain("disk on fire")
    expect(abort).toMatchObject({ level: 30 })
    expect(abort?.msg).toContain("Client closed the connection")
    expect(abort?.err).toBeUndefined()
    expect(down).toMatchObject({ level: 40, database: "Can't reach database server at 127.0.0.1:4150" })
    expect(down?.err).toBeUndefined()
    expect(lines()).toHaveLength(5)
  })
})

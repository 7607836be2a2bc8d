import { describe, expect, it } from "vitest"
import { AuthorizationError } from "blitz"
import { isDatabaseUnreachable, lastMessageLine } from "./errors"

// Shapes as the drivers gave them on this machine (npm run faults, a PostgreSQL stopped with -m immediate).
const prismaError = (code: string, message: string, meta?: unknown) =>
  Object.assign(new Error(message), { name: "PrismaClientKnownRequestError", code, meta })
const notReachable = { name: "DriverAdapterError", cause: { kind: "DatabaseNotReachable", host: "127.0.0.1", port: 4150 } }

describe("isDatabaseUnreachable", () => {
  it("knows a database server that is down, restarting or cut off", () => {
    const errors = [
      prismaError("P1001", "\nInvalid `db.user.findFirst()` invocation\nCan't reach database server at 127.0.0.1:4150", { driverAdapterError: notReachable }),
      // $queryRaw wraps it as a failed raw query; only the adapter's kind tells.
      prismaError("P2010", "Raw query failed. Code: `N/A`. Message: `Can't reach database server`", { driverAdapterError: notReachable }),
      prismaError("P1017", "Server has closed the connection."),
      new Error("Connection terminated unexpectedly"), // pg, for a pooled connection when the server stops
      new Error("Client has encountered a connection error and is not queryable"), // pg, that client used again after the restart
      prismaError("P2010", "Raw query failed", { driverAdapterError: { cause: { kind: "postgres", code: "57P01" } } }),
      prismaError("P2010", "Raw query failed", { driverAdapterError: { cause: { kind: "postgres", code: "57P03" } } }),
      prismaError("P2010", "Raw query failed", { driverAdapterError: { cause: { kind: "ConnectionClosed" } } }),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:4150"), { code: "ECONNREFUSED" }),
      new Error("outer", { cause: new Error("the database system is starting up") }),
    ]
    expect(errors.map((error) => isDatabaseUnreachable(error))).toEqual(errors.map(() => true))
  })

  it("leaves every other error to the generic path", () => {
    const errors = [
      prismaError("P2002", "Unique constraint failed on the fields: (`email`)"),
      prismaError("P2010", "Raw query failed", { driverAdapterError: { cause: { kind: "postgres", code: "23505" } } }),
      new AuthorizationError("no"),
      new TypeError("fetch failed", { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) }), // a webhook, not the database
      new Error("boom"),
      null,
      "Connection terminated",
    ]
    expect(errors.map((error) => isDatabaseUnreachable(error))).toEqual(errors.map(() => false))
  })

  it("does not loop on an error that is its own cause", () => {
    const error = new Error("x") as Error & { cause?: unknown }
    error.cause = error
    expect(isDatabaseUnreachable(error)).toBe(false)
  })
})

describe("lastMessageLine", () => {
  it("keeps the last line of Prisma's invocation message", () => {
    expect(lastMessageLine(new Error("\nInvalid `db.user.findFirst()` invocation in\n  x.ts:5\n\nCan't reach database server at h:1\n"))).toBe(
      "Can't reach database server at h:1",
    )
  })
})

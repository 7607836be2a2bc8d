import { spawn, type ChildProcess } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"

// On the embedded engine the worker processes need a data folder of their own (PGlite allows
// one process per folder): this file's database lives in one, closed while a worker runs.
const dataDir = vi.hoisted(() => {
  if (process.env.DATABASE_URL) return null
  // Created by the first open (db/engine.ts); removed after the tests.
  const dir = `${process.env.TMPDIR ?? "/tmp"}/outbox-workers-${process.pid}-${Date.now()}/pglite`
  process.env.PGLITE_DATA_DIR = dir
  return dir
})

import db, { engine } from "db"
import { sealPendingAuditEvents } from "app/audit/log"
import { closeEmbedded } from "db/engine"
import { flushAuditCheckpoint } from "app/audit/log"
import { stopAuditSealing } from "app/audit/sealer"
import { serverConfig } from "app/core/serverConfig"
import { enqueueEmail } from "mailers/outbox"
import { runOutboxPass } from "mailers/worker"
import { createUser, uniqueTag } from "test/helpers/fixtures"
import { signIn, stop } from "test/helpers/session"
import { startSmtpServer } from "test/helpers/smtp"

/**
 * The outbox worker as separate processes (`npm run worker`): killed between the commit and
 * the send, a new worker still delivers the receipt exactly once; and on PostgreSQL several
 * workers draining one backlog deliver each message exactly once.
 */

// `node --import tsx`, not the tsx CLI: the CLI runs the script in a child process of its own,
// which a SIGKILL of the CLI would leave running.
const children = new Set<ChildProcess>()
const outputs: Array<() => string> = []

type Worker = { child: ChildProcess; output: () => string; exited: Promise<number | null>; started: Promise<void> }

function startWorker(env: Record<string, string>, args: string[] = []): Worker {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info", OUTBOX_POLL_MS: "50", ...env }
  if (engine.kind === "postgres") {
    childEnv.DATABASE_URL = engine.url
  } else {
    delete childEnv.DATABASE_URL
    childEnv.PGLITE_DATA_DIR = dataDir!
  }
  const child = spawn(process.execPath, ["--import", "tsx", "mailers/workerCommand.ts", ...args], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] })
  children.add(child)
  let output = ""
  let markStarted: () => void = () => {}
  const started = new Promise<void>((resolve) => (markStarted = resolve))
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
    if (output.includes("Outbox worker started")) markStarted()
  }
  child.stdout!.on("data", collect)
  child.stderr!.on("data", collect)
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      children.delete(child)
      resolve(code)
    }),
  )
  outputs.push(() => output)
  return { child, output: () => output, exited, started }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 40_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  // What the workers printed says why.
  throw new Error(`Timed out waiting for ${what}; the workers printed:\n${outputs.map((o) => o()).join("\n---\n").slice(-4000)}`)
}

/** Lets a worker process open the embedded folder (this process closes it; the next query reopens it). */
async function handOverDatabase() {
  if (engine.kind !== "pglite") return
  await flushAuditCheckpoint() // its timer would reopen the folder behind the worker's back
  await stopAuditSealing() // and so would a retry of the audit sealer
  await db.$disconnect()
  await closeEmbedded(engine.dataDir)
}

/** Delivers what other test files left due (files share one PostgreSQL database), so only this file's messages remain. */
async function drainInProcess() {
  await sealPendingAuditEvents() // what events send is queued when they are sealed
  for (let pass = 0; pass < 1000; pass++) if ((await runOutboxPass()).claimed === 0) return
}

const workerEnv = { AUDIT_HMAC_KEY: process.env.AUDIT_HMAC_KEY!, OUTBOX_LEASE_SECONDS: "1" }
const savedMail = { ...serverConfig.mail }

beforeAll(async () => {
  await db.$queryRaw`SELECT 1`
})

afterAll(async () => {
  Object.assign(serverConfig.mail, savedMail)
  for (const child of children) child.kill("SIGKILL")
  await db.$disconnect()
  if (engine.kind === "pglite") {
    await closeEmbedded(engine.dataDir)
    fs.rmSync(path.dirname(engine.dataDir), { recursive: true, force: true })
  }
})

describe("a worker killed between the commit and the send", () => {
  it("leaves the receipt to the next worker after the lease, which delivers it exactly once", { timeout: 180_000 }, async () => {
    let victim: Worker | null = null
    const smtp = await startSmtpServer({
      onConnect: async () => {
        // The first worker dies as it connects, before the message is accepted.
        if (victim && victim.child.exitCode === null && victim.child.signalCode === null) {
          victim.child.kill("SIGKILL")
          await victim.exited
          throw new Error("sender gone")
        }
      },
    })
    try {
      serverConfig.mail.smtpUrl = smtp.url
      await drainInProcess()
      smtp.received.length = 0

      const staff = await createUser({ label: "support", role: "SUPPORT" })
      const user = await createUser({ label: "crash" })
      const browser = await signIn(staff)
      const started = await browser.rpc<{ impersonationId: number }>("impersonateUser", { userId: user.id, reason: "Crash test" })
      expect(started.error).toBeNull()
      await stop(browser)
      const ended = await db.auditEvent.findFirstOrThrow({
        where: { impersonationId: started.result!.impersonationId, action: "IMPERSONATION_ENDED" },
      })
      await sealPendingAuditEvents()
      const receipt = await db.outboxMessage.findFirstOrThrow({ where: { auditEventId: ended.id, kind: "EMAIL" } })
      expect(receipt).toMatchObject({ status: "PENDING", attempts: 0, to: user.email })
      const connectionsBefore = smtp.connections()

      await handOverDatabase()
      victim = startWorker({ ...workerEnv, SMTP_URL: smtp.url })
      await waitFor("the first worker to connect", () => victim!.child.signalCode !== null || victim!.child.exitCode !== null)
      expect(await victim.exited).toBeNull() // killed by SIGKILL, not exited
      expect(victim.child.signalCode).toBe("SIGKILL")
      expect(smtp.received.filter((m) => m.to.includes(user.email.toLowerCase()))).toHaveLength(0)

      const successor = startWorker({ ...workerEnv, SMTP_URL: smtp.url })
      await waitFor("the receipt", () => smtp.received.some((m) => m.to.includes(user.email.toLowerCase())))
      // Stops cleanly on SIGTERM.
      successor.child.kill("SIGTERM")
      expect(await successor.exited).toBe(0)
      expect(successor.output()).toContain("SIGTERM")

      const delivered = smtp.received.filter((m) => m.to.includes(user.email.toLowerCase()))
      expect(delivered).toHaveLength(1)
      expect(delivered[0]!.raw).toContain("Subject: Support accessed your account")
      expect(smtp.connections() - connectionsBefore).toBe(2)
      // The claim of the dead worker counted as attempt 1; the successor's delivery was attempt 2.
      expect(await db.outboxMessage.findUniqueOrThrow({ where: { id: receipt.id } })).toMatchObject({ status: "SENT", attempts: 2 })
    } finally {
      await smtp.close()
    }
  })
})

describe.skipIf(engine.kind !== "postgres")("several workers on PostgreSQL", () => {
  it("drain one backlog together, each message delivered exactly once", { timeout: 180_000 }, async () => {
    const smtp = await startSmtpServer({ acceptDelayMs: 20 })
    try {
      serverConfig.mail.smtpUrl = smtp.url
      await drainInProcess()
      smtp.received.length = 0
      const workers = [1, 2, 3].map((n) =>
        startWorker({ ...workerEnv, OUTBOX_LEASE_SECONDS: "30", SMTP_URL: smtp.url, MAIL_FROM: `Worker ${n} <worker${n}@acme.example>` }),
      )
      await Promise.all(workers.map((w) => w.started))

      const tag = uniqueTag("backlog")
      const addresses = Array.from({ length: 60 }, (_, i) => `${tag}-${i}@fixture.example`.toLowerCase())
      await db.$transaction(async (tx) => {
        for (const to of addresses) await enqueueEmail(tx, { to, subject: `Backlog ${tag}`, text: "One of many" })
      })
      const mine = () => smtp.received.filter((m) => addresses.includes(m.to[0]!))
      await waitFor("the backlog", () => mine().length >= addresses.length)
      await waitFor("the rows", async () => (await db.outboxMessage.count({ where: { subject: `Backlog ${tag}`, status: "SENT" } })) === 60)
      for (const w of workers) w.child.kill("SIGTERM")
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0])

      const perAddress = new Map<string, number>()
      for (const m of mine()) perAddress.set(m.to[0]!, (perAddress.get(m.to[0]!) ?? 0) + 1)
      expect([...perAddress.values()].every((count) => count === 1)).toBe(true)
      expect(perAddress.size).toBe(60)
      expect(await db.outboxMessage.count({ where: { subject: `Backlog ${tag}`, attempts: 1 } })).toBe(60)
      // More than one worker took part.
      expect(new Set(mine().map((m) => m.from)).size).toBeGreaterThan(1)
    } finally {
      await smtp.close()
    }
  })
})

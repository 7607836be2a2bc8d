import type { SessionModel } from "@blitzjs/auth"
import db from "db"
import { endImpersonation, loadSessionForRequest, readPublicData } from "app/impersonation/guard"

async function isReturnedSession(handle: string): Promise<boolean> {
  const row = await db.session.findUnique({ where: { handle }, select: { publicData: true } })
  return Boolean(readPublicData(row?.publicData)?.returnedFromImpersonation)
}

/**
 * Blitz session storage on Prisma. Like Blitz's PrismaStorage, except that reads go through
 * the impersonation guard, an impersonation session is linked to its Impersonation row, and a
 * missing row on update (P2025 in current Prisma) is not an error.
 */
export const sessionStorage = {
  getSession: (handle: string) => loadSessionForRequest(handle),
  getSessions: (userId: number) =>
    db.session.findMany({ where: { userId, expiresAt: { gt: new Date() } } }),
  createSession: ({ userId, ...session }: SessionModel) =>
    db.session.create({
      data: {
        ...session,
        userId: typeof userId === "number" ? userId : null,
        impersonationId: readPublicData(session.publicData)?.impersonationId ?? null,
      },
    }),
  updateSession: async (handle: string, session: Partial<SessionModel>) => {
    const { userId: _ignored, ...fields } = session
    // Blitz's rolling renewal must not extend a session handed back by the guard: it lives
    // only until the next RPC rotates it (see rotateReturnedSession).
    if (fields.expiresAt && (await isReturnedSession(handle))) delete fields.expiresAt
    await db.session.updateMany({ where: { handle }, data: fields })
    return (await db.session.findUnique({ where: { handle } })) ?? undefined
  },
  deleteSession: async (handle: string) => {
    // Revoking an impersonation session by any path (e.g. Blitz's $revokeAll) ends it on record.
    const linked = await db.session.findUnique({ where: { handle }, select: { impersonationId: true } })
    if (linked?.impersonationId) {
      await endImpersonation(linked.impersonationId, "SIGNED_OUT", { endedById: null })
    }
    await db.session.deleteMany({ where: { handle } })
    return undefined
  },
}

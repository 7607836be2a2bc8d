import type { Prisma } from "db"

/**
 * Locks the organization's OWNER memberships until the transaction ends, and counts them: two
 * owners demoting (or deleting) each other at once cannot both pass "at least one owner".
 * Raw SQL reads no sensitive field here (Membership has none).
 */
export async function lockOwners(tx: Prisma.TransactionClient, organizationId: number): Promise<number> {
  const rows = await tx.$queryRaw<{ userId: number }[]>`
    SELECT "userId" FROM "Membership"
    WHERE "organizationId" = ${organizationId} AND "role" = 'OWNER'
    ORDER BY "id" FOR UPDATE`
  return rows.length
}

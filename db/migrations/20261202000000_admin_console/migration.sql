-- Admin console: actor tokens, ticket links, admin/off-switch end reasons, directory and audit indexes.
-- Generated with prisma migrate diff; hand-written part at the end.
-- CreateEnum
CREATE TYPE "ActorTokenStatus" AS ENUM ('PENDING', 'USED', 'REVOKED');

-- AlterEnum


ALTER TYPE "ImpersonationEndReason" ADD VALUE 'ENDED_BY_ADMIN';
ALTER TYPE "ImpersonationEndReason" ADD VALUE 'FEATURE_DISABLED';

-- AlterEnum


ALTER TYPE "AuditAction" ADD VALUE 'ACTOR_TOKEN_CREATED';
ALTER TYPE "AuditAction" ADD VALUE 'ACTOR_TOKEN_REDEEMED';
ALTER TYPE "AuditAction" ADD VALUE 'ACTOR_TOKEN_REFUSED';
ALTER TYPE "AuditAction" ADD VALUE 'ACTOR_TOKEN_REVOKED';

-- AlterTable
ALTER TABLE "Impersonation" ADD COLUMN     "actorTokenId" INTEGER,
ADD COLUMN     "handBackToActor" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "ticketUrl" TEXT;

-- CreateTable
CREATE TABLE "ActorToken" (
    "id" SERIAL NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "actorId" INTEGER NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "ticketUrl" TEXT,
    "mode" "ImpersonationMode" NOT NULL DEFAULT 'READ_ONLY',
    "status" "ActorTokenStatus" NOT NULL DEFAULT 'PENDING',
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "revokedById" INTEGER,

    CONSTRAINT "ActorToken_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ActorToken_tokenHash_key" ON "ActorToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ActorToken_actorId_status_expiresAt_idx" ON "ActorToken"("actorId", "status", "expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "Impersonation_actorTokenId_key" ON "Impersonation"("actorTokenId");

-- CreateIndex
CREATE INDEX "Impersonation_actorId_startedAt_idx" ON "Impersonation"("actorId", "startedAt");

-- CreateIndex
CREATE INDEX "Impersonation_endedAt_startedAt_idx" ON "Impersonation"("endedAt", "startedAt");

-- CreateIndex
CREATE INDEX "AuditEvent_actorId_id_idx" ON "AuditEvent"("actorId", "id");

-- CreateIndex
CREATE INDEX "AuditEvent_subjectId_id_idx" ON "AuditEvent"("subjectId", "id");

-- CreateIndex
CREATE INDEX "AuditEvent_organizationId_id_idx" ON "AuditEvent"("organizationId", "id");

-- CreateIndex
CREATE INDEX "AuditEvent_action_id_idx" ON "AuditEvent"("action", "id");

-- AddForeignKey
ALTER TABLE "Impersonation" ADD CONSTRAINT "Impersonation_actorTokenId_fkey" FOREIGN KEY ("actorTokenId") REFERENCES "ActorToken"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActorToken" ADD CONSTRAINT "ActorToken_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActorToken" ADD CONSTRAINT "ActorToken_subjectId_fkey" FOREIGN KEY ("subjectId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Hand-written below: what the Prisma schema language cannot express.

-- Case-insensitive substring search of the user directory (ILIKE '%term%') at a million users.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "User_name_trgm_idx" ON "User" USING gin ("name" gin_trgm_ops);
CREATE INDEX "User_email_trgm_idx" ON "User" USING gin ("email" gin_trgm_ops);

-- A token is used at most once and by at most one impersonation, whatever races.
ALTER TABLE "ActorToken" ADD CONSTRAINT "ActorToken_used_has_time" CHECK ("status" <> 'USED' OR "usedAt" IS NOT NULL);

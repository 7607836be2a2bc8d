-- Issue 8, the user's side: consent ASK and the organization floor, access requests, End access
-- (ENDED_BY_USER), the outbox worker's columns and webhook endpoints.
-- CreateEnum
CREATE TYPE "AccessRequestStatus" AS ENUM ('PENDING', 'APPROVED', 'DENIED', 'REVOKED');

-- CreateEnum
CREATE TYPE "OutboxKind" AS ENUM ('EMAIL', 'WEBHOOK');

-- AlterEnum
ALTER TYPE "ImpersonationConsent" ADD VALUE 'ASK';

-- AlterEnum
ALTER TYPE "ImpersonationEndReason" ADD VALUE 'ENDED_BY_USER';

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "AuditAction" ADD VALUE 'ACCESS_REQUESTED';
ALTER TYPE "AuditAction" ADD VALUE 'ACCESS_APPROVED';
ALTER TYPE "AuditAction" ADD VALUE 'ACCESS_DENIED';
ALTER TYPE "AuditAction" ADD VALUE 'ACCESS_REVOKED';
ALTER TYPE "AuditAction" ADD VALUE 'ACCESS_REQUEST_EXPIRED';
ALTER TYPE "AuditAction" ADD VALUE 'CONSENT_CHANGED';
ALTER TYPE "AuditAction" ADD VALUE 'CONSENT_FLOOR_CHANGED';
ALTER TYPE "AuditAction" ADD VALUE 'WEBHOOK_ENDPOINT_CHANGED';

-- AlterEnum
ALTER TYPE "OutboxStatus" ADD VALUE 'DEAD';

-- AlterTable
ALTER TABLE "Organization" ADD COLUMN     "consentFloor" "ImpersonationConsent" NOT NULL DEFAULT 'ALLOWED';

-- AlterTable
ALTER TABLE "Impersonation" ADD COLUMN     "accessRequestId" INTEGER;

-- AlterTable
ALTER TABLE "OutboxMessage" ADD COLUMN     "auditEventId" INTEGER,
ADD COLUMN     "endpointId" INTEGER,
ADD COLUMN     "kind" "OutboxKind" NOT NULL DEFAULT 'EMAIL',
ADD COLUMN     "nextAttemptAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "AccessRequest" (
    "id" SERIAL NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "actorId" INTEGER NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "organizationId" INTEGER,
    "reason" TEXT NOT NULL,
    "ticketUrl" TEXT,
    "mode" "ImpersonationMode" NOT NULL,
    "hours" INTEGER NOT NULL,
    "requestExpiresAt" TIMESTAMP(3) NOT NULL,
    "status" "AccessRequestStatus" NOT NULL DEFAULT 'PENDING',
    "approvedMode" "ImpersonationMode",
    "approvedHours" INTEGER,
    "expiresAt" TIMESTAMP(3),
    "decidedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "AccessRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookEndpoint" (
    "id" SERIAL NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "description" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdById" INTEGER,
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "WebhookEndpoint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AccessRequest_subjectId_status_idx" ON "AccessRequest"("subjectId", "status");

-- CreateIndex
CREATE INDEX "AccessRequest_actorId_subjectId_id_idx" ON "AccessRequest"("actorId", "subjectId", "id");

-- CreateIndex
CREATE INDEX "OutboxMessage_status_nextAttemptAt_idx" ON "OutboxMessage"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "OutboxMessage_kind_id_idx" ON "OutboxMessage"("kind", "id");

-- AddForeignKey
ALTER TABLE "Impersonation" ADD CONSTRAINT "Impersonation_accessRequestId_fkey" FOREIGN KEY ("accessRequestId") REFERENCES "AccessRequest"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AccessRequest" ADD CONSTRAINT "AccessRequest_actorId_fkey" FOREIGN KEY ("actorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AccessRequest" ADD CONSTRAINT "AccessRequest_subjectId_fkey" FOREIGN KEY ("subjectId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AccessRequest" ADD CONSTRAINT "AccessRequest_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OutboxMessage" ADD CONSTRAINT "OutboxMessage_endpointId_fkey" FOREIGN KEY ("endpointId") REFERENCES "WebhookEndpoint"("id") ON DELETE SET NULL ON UPDATE CASCADE;


-- Issue 8, access requests: an unanswered request's expiry is audited once (ACCESS_REQUEST_EXPIRED).
-- AlterTable
ALTER TABLE "AccessRequest" ADD COLUMN     "expiryRecordedAt" TIMESTAMP(3);

-- At most one open request per admin and user: concurrent starts cannot both create one.
-- (An unanswered request stays PENDING until its expiry is recorded; prisma cannot express a
-- partial index, so it lives here only.)
CREATE UNIQUE INDEX "AccessRequest_one_open_per_pair" ON "AccessRequest"("actorId", "subjectId") WHERE "status" = 'PENDING' AND "expiryRecordedAt" IS NULL;

-- The expiry sweep reads unanswered requests by their deadline.
CREATE INDEX "AccessRequest_open_requestExpiresAt_idx" ON "AccessRequest"("requestExpiresAt") WHERE "status" = 'PENDING' AND "expiryRecordedAt" IS NULL;

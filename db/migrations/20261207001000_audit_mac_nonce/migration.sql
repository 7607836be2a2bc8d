-- A copied audit row must never be sealed: every append carries a random nonce covered by its
-- content MAC, and the content MAC is unique, so an INSERT ... SELECT of an event fails.
-- Generated with prisma migrate diff; hand-written part at the end.
-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "macNonce" TEXT;

-- Hand-written: copies made before this migration (the old sealer sealed them) stop it, by name,
-- rather than failing in CREATE UNIQUE INDEX with no word of which events.
DO $$
DECLARE copies text;
BEGIN
  SELECT string_agg(ids, '; ') INTO copies FROM (
    SELECT string_agg('#' || "id", ', ' ORDER BY "id") AS ids FROM "AuditEvent"
    WHERE "contentMac" IS NOT NULL GROUP BY "contentMac" HAVING count(*) > 1
  ) AS d;
  IF copies IS NOT NULL THEN
    RAISE EXCEPTION 'AuditEvent rows share a content MAC (copied events): %', copies;
  END IF;
END
$$;

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_contentMac_key" ON "AuditEvent"("contentMac");

-- Hand-written below: the append-only trigger (20261207000000_audit_async_seal) with macNonce
-- among the columns the one allowed UPDATE (the seal) must leave as they were.
CREATE OR REPLACE FUNCTION "audit_event_sealed_once"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
    AND OLD."chainPosition" IS NULL AND OLD."prevHash" IS NULL AND OLD."hash" IS NULL
    AND OLD."keyId" IS NULL AND OLD."sealedAt" IS NULL
    AND NEW."chainPosition" IS NOT NULL AND NEW."hash" IS NOT NULL AND NEW."sealedAt" IS NOT NULL
    AND (NEW."id", NEW."at", NEW."action", NEW."actorId", NEW."subjectId", NEW."impersonationId",
         NEW."organizationId", NEW."ip", NEW."userAgent", NEW."details", NEW."recordedAt", NEW."contentMac",
         NEW."macNonce")
      IS NOT DISTINCT FROM
        (OLD."id", OLD."at", OLD."action", OLD."actorId", OLD."subjectId", OLD."impersonationId",
         OLD."organizationId", OLD."ip", OLD."userAgent", OLD."details", OLD."recordedAt", OLD."contentMac",
         OLD."macNonce")
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'AuditEvent is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Audit append without the chain lock: the writer inserts the event (one statement, no wait on
-- other writers); a sealer (app/audit/sealer.ts) links committed events into the chain later, in
-- chainPosition order. Generated with prisma migrate diff; hand-written part at the end.
-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "chainPosition" INTEGER,
ADD COLUMN     "contentMac" TEXT,
ADD COLUMN     "recordedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "sealedAt" TIMESTAMP(3),
ALTER COLUMN "hash" DROP NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_chainPosition_key" ON "AuditEvent"("chainPosition");


-- Hand-written below: what the Prisma schema language cannot express.

-- A constant default first fills existing rows without rewriting the table; new rows get the
-- time of their insert (the schema's dbgenerated default), not of their transaction's start.
ALTER TABLE "AuditEvent" ALTER COLUMN "recordedAt" SET DEFAULT clock_timestamp();

-- The existing chain, linked in id order under the old lock, keeps that order as its positions.
DROP TRIGGER "AuditEvent_append_only" ON "AuditEvent";
UPDATE "AuditEvent" AS e SET "chainPosition" = n."position", "sealedAt" = e."at"
FROM (SELECT "id", row_number() OVER (ORDER BY "id") AS "position" FROM "AuditEvent") AS n
WHERE e."id" = n."id";

-- Append-only for content: the one UPDATE allowed sets the chain fields of an unsealed row, once,
-- leaving every other column as it was. DELETE stays refused (TRUNCATE too: AuditEvent_no_truncate).
CREATE FUNCTION "audit_event_sealed_once"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
    AND OLD."chainPosition" IS NULL AND OLD."prevHash" IS NULL AND OLD."hash" IS NULL
    AND OLD."keyId" IS NULL AND OLD."sealedAt" IS NULL
    AND NEW."chainPosition" IS NOT NULL AND NEW."hash" IS NOT NULL AND NEW."sealedAt" IS NOT NULL
    AND (NEW."id", NEW."at", NEW."action", NEW."actorId", NEW."subjectId", NEW."impersonationId",
         NEW."organizationId", NEW."ip", NEW."userAgent", NEW."details", NEW."recordedAt", NEW."contentMac")
      IS NOT DISTINCT FROM
        (OLD."id", OLD."at", OLD."action", OLD."actorId", OLD."subjectId", OLD."impersonationId",
         OLD."organizationId", OLD."ip", OLD."userAgent", OLD."details", OLD."recordedAt", OLD."contentMac")
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'AuditEvent is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER "AuditEvent_append_only" BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION "audit_event_sealed_once"();

-- The sealer finds the events still to seal without scanning the sealed ones.
CREATE INDEX "AuditEvent_unsealed_idx" ON "AuditEvent"("id") WHERE "chainPosition" IS NULL;

-- The per-day id bounds (20261202004000_console_audit) are kept when events are sealed, not
-- inserted: an upsert of the day's row at every insert held that row's lock until commit, and so
-- serialized every writer again. Rows inserted already sealed (imports, benches) still count.
CREATE OR REPLACE FUNCTION "audit_event_day_bounds"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "AuditEventDay" ("day", "firstId", "lastId")
  SELECT "at"::date, min("id"), max("id") FROM new_rows WHERE "chainPosition" IS NOT NULL GROUP BY 1
  ON CONFLICT ("day") DO UPDATE SET
    "firstId" = LEAST("AuditEventDay"."firstId", EXCLUDED."firstId"),
    "lastId" = GREATEST("AuditEventDay"."lastId", EXCLUDED."lastId");
  RETURN NULL;
END
$$;
CREATE TRIGGER "AuditEvent_day_bounds_sealed" AFTER UPDATE ON "AuditEvent"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "audit_event_day_bounds"();

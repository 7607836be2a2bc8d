-- Audit log date filter: the id range of each UTC day's events, kept by a trigger.
-- Generated with prisma migrate diff; hand-written part at the end.
-- CreateTable
CREATE TABLE "AuditEventDay" (
    "day" DATE NOT NULL,
    "firstId" INTEGER NOT NULL,
    "lastId" INTEGER NOT NULL,

    CONSTRAINT "AuditEventDay_pkey" PRIMARY KEY ("day")
);


-- Hand-written below: what the Prisma schema language cannot express.

-- Ids follow commit order, not "at" (callers may date an event slightly earlier, or in the
-- past), so a day's events are bounded by the smallest and largest id recorded for that day.
-- Once per INSERT statement, from its new rows: a bulk insert costs one upsert per day.
CREATE FUNCTION "audit_event_day_bounds"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "AuditEventDay" ("day", "firstId", "lastId")
  SELECT "at"::date, min("id"), max("id") FROM new_rows GROUP BY 1
  ON CONFLICT ("day") DO UPDATE SET
    "firstId" = LEAST("AuditEventDay"."firstId", EXCLUDED."firstId"),
    "lastId" = GREATEST("AuditEventDay"."lastId", EXCLUDED."lastId");
  RETURN NULL;
END
$$;
CREATE TRIGGER "AuditEvent_day_bounds" AFTER INSERT ON "AuditEvent"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "audit_event_day_bounds"();

-- The events already there.
INSERT INTO "AuditEventDay" ("day", "firstId", "lastId")
SELECT "at"::date, min("id"), max("id") FROM "AuditEvent" GROUP BY 1;

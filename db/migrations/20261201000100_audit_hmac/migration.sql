-- Audit rows are sealed with an HMAC; the column names the key (null: legacy unkeyed SHA-256 rows).
ALTER TABLE "AuditEvent" ADD COLUMN "keyId" TEXT;

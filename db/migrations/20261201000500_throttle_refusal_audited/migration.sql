-- A lock's first refused sign-in is audited, the rest are not: a locked flood cannot fill the audit log.
ALTER TABLE "LoginThrottle" ADD COLUMN "refusalAuditedFor" TIMESTAMP(3);

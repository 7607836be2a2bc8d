-- The audit also records refused starts, sign-ins, failed sign-ins and sign-outs.
ALTER TYPE "AuditAction" ADD VALUE 'IMPERSONATION_REFUSED';
ALTER TYPE "AuditAction" ADD VALUE 'SIGNED_IN';
ALTER TYPE "AuditAction" ADD VALUE 'SIGN_IN_FAILED';
ALTER TYPE "AuditAction" ADD VALUE 'SIGNED_OUT';

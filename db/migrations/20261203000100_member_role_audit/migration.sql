-- Role changes decide who may impersonate whom: they are audited (issue 7 review).
ALTER TYPE "AuditAction" ADD VALUE 'MEMBER_ROLE_CHANGED';

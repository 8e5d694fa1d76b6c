"""Audit models; the public ones are the API contract in `shared.schemas.audit`."""

from shared.schemas.audit import AuditEntryPublic, AuditVerifyResult

__all__ = ["AuditEntryPublic", "AuditVerifyResult"]

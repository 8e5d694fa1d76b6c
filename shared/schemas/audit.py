"""The audit trail as administrators read it."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.enums import AuditOutcome


class AuditEntryPublic(BaseModel):
    id: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    on_behalf_of_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    action: str
    resource_type: str | None
    resource_id: str | None
    outcome: AuditOutcome
    access_basis: str | None
    ip: str | None
    user_agent: str | None
    detail: dict[str, Any]
    entry_hash: str


class AuditVerifyResult(BaseModel):
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None

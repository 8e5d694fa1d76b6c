"""Audit entries: append-only rows linked by a hash chain."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, String
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime

GENESIS_HASH = "0" * 64


class AuditEntry(SQLModel, table=True):
    """One audited event. `id` is assigned in chain order under a lock (see `chain.py`), and
    `entry_hash` commits to every field plus the previous entry's hash, so changing, removing
    or reordering any row breaks every link after it."""

    __tablename__ = "audit_entry"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    organization_id: uuid.UUID | None = Field(default=None, index=True)
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_role: str | None = Field(default=None, sa_type=String(32))
    on_behalf_of_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = Field(default=None, index=True)
    action: str = Field(sa_type=String(64), index=True)
    resource_type: str | None = Field(default=None, sa_type=String(64))
    resource_id: str | None = Field(default=None, sa_type=String(64))
    outcome: str = Field(sa_type=String(16))
    access_basis: str | None = Field(default=None, sa_type=String(16))
    ip: str | None = Field(default=None, sa_type=String(64))
    user_agent: str | None = Field(default=None, sa_type=String(300))
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(sa_type=String(64))
    entry_hash: str = Field(sa_type=String(64), unique=True)

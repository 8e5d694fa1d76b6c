"""Rows that decide access. Nothing is deleted: memberships end, grants are revoked, so the
history of who could see what stays answerable."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime, new_id, utcnow


class CareTeamMember(SQLModel, table=True):
    __tablename__ = "care_team_member"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    team_role: str = Field(sa_type=String(32))
    start_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    added_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")


class ProxyGrant(SQLModel, table=True):
    """What a patient lets one family member see; `scopes` holds `shared.enums.GrantScope`
    values. Active while not revoked and not past `expires_at`."""

    __tablename__ = "proxy_grant"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    grantee_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    relationship: str = Field(sa_type=String(80))
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    granted_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")


class BreakGlassAccess(SQLModel, table=True):
    __tablename__ = "break_glass_access"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    reason: str = Field(sa_type=Text)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)

"""Accounts and the rows behind sign-in sessions."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime, new_id, utcnow


class Organization(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_type=String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """A person who signs in. `role` is one of `shared.enums.Role`."""

    __tablename__ = "app_user"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    email: str = Field(sa_type=String(320), unique=True, index=True)
    full_name: str = Field(sa_type=String(200))
    role: str = Field(sa_type=String(32), index=True)
    password_hash: str = Field(sa_type=String(255))
    is_active: bool = True
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per email digest, known account or not, so that lockout cannot be used
    to find out which emails have accounts."""

    __tablename__ = "login_throttle"

    email_digest: str = Field(sa_type=String(64), primary_key=True)
    failure_count: int = 0
    lock_level: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuthSession(SQLModel, table=True):
    """One signed-in device: the family that its rotating refresh tokens belong to. Revoking it
    ends every access and refresh token issued to that device."""

    __tablename__ = "auth_session"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, sa_type=String(40))
    ip: str | None = Field(default=None, sa_type=String(64))
    user_agent: str | None = Field(default=None, sa_type=String(300))


class RefreshToken(SQLModel, table=True):
    """Only the SHA-256 of the token is stored. A token is spent once (`used_at`); presenting a
    spent one means it was copied, and the whole session is revoked."""

    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="auth_session.id", index=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invitation(SQLModel, table=True):
    """An invitation to join: staff, a patient (linked to their record) or a family member
    (with the proxy grant they will receive)."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    email: str = Field(sa_type=String(320), index=True)
    role: str = Field(sa_type=String(32))
    full_name: str = Field(sa_type=String(200))
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id", index=True)
    relationship: str | None = Field(default=None, sa_type=String(80))
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    grant_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    invited_by_id: uuid.UUID = Field(foreign_key="app_user.id")
    token_hash: str = Field(sa_type=String(64), unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_user_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

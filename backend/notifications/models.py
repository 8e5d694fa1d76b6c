"""An in-app notification. Its text is generic by rule: no names, diagnoses or message text,
because the same text will be pushed to lock screens."""

import uuid
from datetime import datetime, time

from sqlalchemy import JSON, Column, Index, String, text
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime, new_id, utcnow


class Notification(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    category: str = Field(sa_type=String(32))
    title: str = Field(sa_type=String(120))
    body: str = Field(sa_type=String(300))
    link: str | None = Field(default=None, sa_type=String(300))
    urgent: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PushJob(SQLModel, table=True):
    """The outbox: one push to deliver to one person's devices, written in the same transaction
    as the event that caused it, so an event is never stored without its push or the other way
    round. The push-notification dispatcher claims pending rows, sends, and records the outcome.
    Its text is the notification's generic text: never message content, names or diagnoses."""

    __tablename__ = "push_job"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    notification_id: uuid.UUID | None = Field(default=None, foreign_key="notification.id")
    category: str = Field(sa_type=String(32))
    title: str = Field(sa_type=String(120))
    body: str = Field(sa_type=String(300))
    link: str | None = Field(default=None, sa_type=String(300))
    collapse_key: str | None = Field(default=None, sa_type=String(64))
    urgent: bool = False
    status: str = Field(default="pending", sa_type=String(16), index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=String(300))
    outcome: str | None = Field(default=None, sa_type=String(32))
    """A `shared.enums.PushOutcome`: why the job ended so, or why it waits."""
    retries: int = 0
    """Retries scheduled after a timeout, 429 or 5xx (not quiet-hours deferrals)."""
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    done_device_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Devices this job is finished with (delivered, or token deactivated): a retry skips them,
    so one device failing does not resend to the others."""

    __table_args__ = (
        # What dispatchers poll: only the few due rows, not the whole history.
        Index(
            "ix_push_job_due",
            "next_attempt_at",
            sqlite_where=text("status IN ('pending', 'sending')"),
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
    )


class PushDevice(SQLModel, table=True):
    """A device that can receive pushes for one person. Tied to the sign-in session that
    registered it, so signing out of that device (or everywhere) removes it."""

    __tablename__ = "push_device"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    auth_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="auth_session.id", index=True
    )
    platform: str = Field(sa_type=String(16))
    token: str = Field(sa_type=String(512), unique=True)
    app_version: str | None = Field(default=None, sa_type=String(32))
    locale: str | None = Field(default=None, sa_type=String(16))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deactivated_reason: str | None = Field(default=None, sa_type=String(64))


class NotificationPreference(SQLModel, table=True):
    """One person's push choices. No row means the defaults: everything on, no quiet hours."""

    __tablename__ = "notification_preference"

    user_id: uuid.UUID = Field(foreign_key="app_user.id", primary_key=True)
    messages: bool = True
    reminders: bool = True
    assessments: bool = True
    education: bool = True
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    timezone: str | None = Field(default=None, sa_type=String(64))
    urgent_overrides_quiet_hours: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

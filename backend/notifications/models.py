"""An in-app notification. Its text is generic by rule: no names, diagnoses or message text,
because the same text will be pushed to lock screens."""

import uuid
from datetime import datetime

from sqlalchemy import String
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

"""Care plans, their versions, Today's marks (the adherence record) and reminders.

A plan is a document replaced whole on every edit; each edit is a `CarePlanVersion` row with
who, when and the full content, so any earlier version can be read back and compared. Nothing
here is deleted: a reminder whose activity left the plan is `cancelled`.
"""

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime, new_id, utcnow


class CarePlan(SQLModel, table=True):
    __tablename__ = "care_plan"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", unique=True)
    version: int = 1
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    reminders_until: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    """Reminders are materialized up to here; None: (re)plan at the scheduler's next round."""


class CarePlanVersion(SQLModel, table=True):
    __tablename__ = "care_plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    plan_id: uuid.UUID = Field(foreign_key="care_plan.id", index=True)
    version: int
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    changes: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_type=String(300))
    changed_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CarePlanSeen(SQLModel, table=True):
    """The version a person last looked at, for "what changed since you last looked"."""

    __tablename__ = "care_plan_seen"

    plan_id: uuid.UUID = Field(foreign_key="care_plan.id", primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", primary_key=True)
    version: int
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TodayMark(SQLModel, table=True):
    """A Today item marked done or skipped: the adherence record. One per item; marking it
    again changes it (who and when are kept)."""

    __tablename__ = "today_mark"
    __table_args__ = (UniqueConstraint("patient_id", "item_key"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    item_key: str = Field(sa_type=String(120))
    activity_id: str = Field(sa_type=String(40))
    kind: str = Field(sa_type=String(16))
    local_date: date = Field(index=True)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(sa_type=String(16))
    reason: str | None = Field(default=None, sa_type=String(300))
    recorded_by_id: uuid.UUID = Field(foreign_key="app_user.id")
    on_behalf: bool = False
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReminderSetting(SQLModel, table=True):
    __tablename__ = "reminder_setting"

    patient_id: uuid.UUID = Field(foreign_key="patient.id", primary_key=True)
    medication_reminders: bool = True
    appointment_reminders: bool = True
    appointment_lead_minutes: int = 120
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    medication_times: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Reminder(SQLModel, table=True):
    """One reminder to one person at one instant, materialized from the plan ahead of time.
    The unique key makes planning idempotent across processes; sending claims the row under a
    lock (FOR UPDATE SKIP LOCKED on PostgreSQL) and writes the notification and its outbox job
    in the same transaction that marks it `sent`: each reminder is sent once."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("user_id", "activity_id", "due_at"),
        Index(
            "ix_reminder_due",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id")
    activity_id: str = Field(sa_type=String(40))
    kind: str = Field(sa_type=String(16))
    due_at: datetime = Field(sa_type=UTCDateTime)
    push: bool = True
    """False inside the person's quiet hours: the in-app notification only."""
    status: str = Field(default="pending", sa_type=String(16))
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_by: str | None = Field(default=None, sa_type=String(64))
    notification_id: uuid.UUID | None = Field(default=None, foreign_key="notification.id")

"""Notifications: the in-app notification center, push devices, preferences and push metrics."""

import uuid
from datetime import datetime, time

from pydantic import BaseModel, Field

from shared.enums import DevicePlatform, NotificationCategory, PushOutcome


class NotificationPublic(BaseModel):
    id: uuid.UUID
    category: NotificationCategory
    title: str
    body: str
    link: str | None = Field(
        description="Where the notification leads in the app, e.g. `/messages/<conversation id>`."
    )
    urgent: bool
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    """The badge: unread notifications plus unread messages."""

    notifications: int
    messages: int
    badge: int


# -- devices ----------------------------------------------------------------------------------


class DeviceBase(BaseModel):
    platform: DevicePlatform
    app_version: str | None = Field(default=None, max_length=32)
    locale: str | None = Field(default=None, max_length=16, examples=["en-US"])


class DeviceRegister(DeviceBase):
    """Register this signed-in device for push. Registering a token again updates it; a token
    registered by someone else before moves to you (the phone changed hands)."""

    token: str = Field(min_length=8, max_length=512, pattern=r"^[A-Za-z0-9:_\-.]+$")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "platform": "ios",
                    "token": "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad",
                    "app_version": "1.4.0",
                    "locale": "en-US",
                }
            ]
        }
    }


class DevicePublic(DeviceBase):
    id: uuid.UUID
    token_suffix: str = Field(description="The token's last characters, to tell devices apart.")
    active: bool
    this_device: bool = Field(description="Registered by the session making this request.")
    created_at: datetime
    last_seen_at: datetime


# -- preferences ------------------------------------------------------------------------------


class NotificationPreferencesBase(BaseModel):
    messages: bool = True
    reminders: bool = True
    assessments: bool = True
    education: bool = True
    quiet_hours_start: time | None = Field(
        default=None, description="Local time quiet hours begin (e.g. 22:00); none when unset."
    )
    quiet_hours_end: time | None = Field(default=None, description="Local time they end (07:00).")
    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone for quiet hours; a patient's record's zone when unset.",
    )
    urgent_overrides_quiet_hours: bool = Field(
        default=True,
        description="Staff only: urgent care-team alerts still come through in quiet hours.",
    )


class NotificationPreferencesPublic(NotificationPreferencesBase):
    effective_timezone: str = Field(description="The zone quiet hours are counted in.")
    in_quiet_hours: bool


class NotificationPreferencesUpdate(BaseModel):
    """Change only what is sent. Send both quiet-hours times, or both as null to turn them off."""

    messages: bool | None = None
    reminders: bool | None = None
    assessments: bool | None = None
    education: bool | None = None
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    timezone: str | None = Field(default=None, max_length=64)
    urgent_overrides_quiet_hours: bool | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"education": False, "quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}
            ]
        }
    }


class PushTestQueued(BaseModel):
    job_id: uuid.UUID
    devices: int = Field(description="Active devices that will be tried.")


# -- metrics ----------------------------------------------------------------------------------


class PushMetrics(BaseModel):
    """Counts over the organization's push outbox and devices."""

    queued: int = Field(description="Jobs waiting or being sent now.")
    sent: int
    retried: int = Field(description="Retries scheduled after a timeout, 429 or 5xx.")
    failed: int = Field(description="Jobs given up on after the last attempt.")
    skipped: int = Field(description="Jobs with nothing to push (see outcomes).")
    deactivated_tokens: int
    active_devices: int
    outcomes: dict[PushOutcome, int]
    oldest_queued_seconds: float | None = Field(
        description="Age of the oldest due job: a growing number means dispatchers are behind."
    )

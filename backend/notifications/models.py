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

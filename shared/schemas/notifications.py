"""In-app notifications: what the notification center lists."""

import uuid
from datetime import datetime

from pydantic import BaseModel

from shared.enums import NotificationCategory


class NotificationPublic(BaseModel):
    id: uuid.UUID
    category: NotificationCategory
    title: str
    body: str
    link: str | None
    urgent: bool
    created_at: datetime
    read_at: datetime | None

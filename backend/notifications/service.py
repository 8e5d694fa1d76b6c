"""Creating and reading in-app notifications."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import NotFound
from backend.core.types import utcnow
from backend.identity.permissions import Principal
from backend.notifications.models import Notification, PushJob
from shared.enums import NotificationCategory


def notify(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    category: NotificationCategory,
    title: str,
    body: str,
    link: str | None = None,
    urgent: bool = False,
    push: bool = False,
    collapse_key: str | None = None,
) -> Notification:
    """Queue a notification in the caller's transaction: it exists only if the event does.
    `title` and `body` must be generic: they may reach a lock screen. With `push`, an outbox job
    for the person's devices is written in the same transaction."""
    notification = Notification(
        user_id=user_id, category=category, title=title, body=body, link=link, urgent=urgent
    )
    session.add(notification)
    if push:
        session.add(
            PushJob(
                user_id=user_id,
                notification_id=notification.id,
                category=category,
                title=title,
                body=body,
                link=link,
                collapse_key=collapse_key,
                urgent=urgent,
            )
        )
    return notification


async def list_for(
    session: AsyncSession, *, principal: Principal, limit: int = 100
) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.user_id == principal.id)
        .order_by(Notification.created_at.desc())
        .limit(limit)
    )
    return list(rows.all())


async def mark_read(
    session: AsyncSession, *, principal: Principal, notification_id: uuid.UUID
) -> None:
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.user_id != principal.id:
        raise NotFound("No such notification.")
    notification.read_at = notification.read_at or utcnow()

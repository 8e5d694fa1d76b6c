"""Creating and reading in-app notifications, and queueing their pushes.

`notify` is what other features call. Everything it writes lands in the caller's transaction;
what it tells the outside world (the live frame to the person's sockets, a wake-up for this
process's dispatcher) happens only after that transaction commits.
"""

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import after_commit
from backend.core.errors import NotFound
from backend.core.types import utcnow
from backend.identity.permissions import Principal
from backend.notifications import devices as device_rules
from backend.notifications import payloads
from backend.notifications.dispatcher import wake_dispatchers
from backend.notifications.models import Notification, PushJob
from shared.enums import NotificationCategory
from shared.schemas.messaging import NotificationFrame
from shared.schemas.notifications import NotificationPublic, PushTestQueued, UnreadCount


def public(notification: Notification) -> NotificationPublic:
    return NotificationPublic.model_validate(notification, from_attributes=True)


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
    `title` and `body` must be generic; the push itself carries only fixed text by category
    (see `payloads`). With `push`, an outbox job for the person's devices is written in the
    same transaction. Once committed, the person's open sockets get the notification live."""
    notification = Notification(
        id=uuid.uuid4(),
        user_id=user_id,
        category=category,
        title=title,
        body=body,
        link=link,
        urgent=urgent,
        created_at=utcnow(),
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
        after_commit(session, wake_dispatchers)
    hub = session.info.get("hub")
    if hub is not None:
        frame = NotificationFrame(notification=public(notification)).model_dump_json()

        async def deliver_live() -> None:
            await hub.to_users([user_id], frame)

        after_commit(session, deliver_live)
    return notification


async def notify_unless_unread(
    session: AsyncSession,
    *,
    user_ids: list[uuid.UUID],
    category: NotificationCategory,
    title: str,
    body: str,
    link: str,
    urgent: bool = False,
    collapse_key: str | None = None,
) -> None:
    """`notify` with push, except for people who still have an unread notification with the
    same link: one per thing (e.g. a conversation) until it is read, so a busy thread fills
    neither a lock screen nor the notification center."""
    if not user_ids:
        return
    waiting = set(
        (
            await session.scalars(
                select(Notification.user_id)
                .distinct()
                .where(
                    Notification.user_id.in_(user_ids),
                    Notification.link == link,
                    Notification.read_at.is_(None),
                )
            )
        ).all()
    )
    for user_id in user_ids:
        if user_id not in waiting:
            notify(
                session,
                user_id=user_id,
                category=category,
                title=title,
                body=body,
                link=link,
                urgent=urgent,
                push=True,
                collapse_key=collapse_key,
            )


async def list_for(
    session: AsyncSession, *, principal: Principal, limit: int = 100, unread_only: bool = False
) -> list[Notification]:
    statement = select(Notification).where(Notification.user_id == principal.id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    rows = await session.scalars(statement.order_by(Notification.created_at.desc()).limit(limit))
    return list(rows.all())


async def mark_read(
    session: AsyncSession, *, principal: Principal, notification_id: uuid.UUID
) -> None:
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.user_id != principal.id:
        raise NotFound("No such notification.")
    notification.read_at = notification.read_at or utcnow()


async def mark_all_read(session: AsyncSession, *, principal: Principal) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == principal.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def unread(session: AsyncSession, *, principal: Principal) -> UnreadCount:
    notifications, messages = await payloads.unread_badge(session, principal.id)
    return UnreadCount(
        notifications=notifications, messages=messages, badge=notifications + messages
    )


async def queue_test_push(session: AsyncSession, *, principal: Principal) -> PushTestQueued:
    """A push to the caller's own devices, whatever their preferences and quiet hours say (they
    asked for it). Not listed in the notification center. One waiting test at a time."""
    active = await device_rules.active_devices(session, principal.id)
    waiting = await session.scalar(
        select(PushJob).where(
            PushJob.user_id == principal.id,
            PushJob.category == NotificationCategory.test,
            PushJob.status.in_(("pending", "sending")),
        )
    )
    if waiting is None:
        waiting = PushJob(
            user_id=principal.id,
            category=NotificationCategory.test,
            title="Test notification",
            body="Push works on this device.",
            collapse_key="test",
        )
        session.add(waiting)
        await session.flush()
        after_commit(session, wake_dispatchers)
    return PushTestQueued(job_id=waiting.id, devices=len(active))

"""What a push says. Never PHI: a lock screen is not private, and Apple and Google see it.

The text comes from a fixed table by category, never from the job or the event: even a caller
that put a name into a notification's title cannot get it onto a lock screen. Besides the text a
push carries the category, ids for deep linking (opaque UUIDs) and the badge count.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.messaging.models import ConversationMember, Message
from backend.notifications.models import Notification, PushJob
from shared.enums import NotificationCategory

APP_NAME = "CareCircle"
GENERIC_TEXT: dict[str, str] = {
    NotificationCategory.messages: "You have a new secure message",
    NotificationCategory.reminders: "You have a reminder",
    NotificationCategory.assessments: "You have a questionnaire to complete",
    NotificationCategory.education: "You have new reading from your care team",
    NotificationCategory.alerts: "A patient on your team needs attention",
    NotificationCategory.security: "There is a security notice for your account",
    NotificationCategory.test: "Test notification: push works on this device",
}
URGENT_TEXT: dict[str, str] = {
    NotificationCategory.messages: "You have an urgent secure message",
    NotificationCategory.alerts: "Urgent: a patient on your team needs attention",
}
FALLBACK_TEXT = "You have a new notification"


@dataclass(frozen=True, slots=True)
class PushMessage:
    """One push, the same for every platform; providers translate it."""

    job_id: uuid.UUID
    category: str
    title: str
    body: str
    badge: int
    urgent: bool
    link: str | None
    notification_id: uuid.UUID | None
    collapse_key: str | None

    def data(self) -> dict[str, str]:
        """Deep-link data: ids only. FCM needs every value to be a string."""
        data = {"category": self.category, "job_id": str(self.job_id)}
        if self.link:
            data["link"] = self.link
        if self.notification_id:
            data["notification_id"] = str(self.notification_id)
        return data


def generic_text(category: str, urgent: bool) -> str:
    if urgent and category in URGENT_TEXT:
        return URGENT_TEXT[category]
    return GENERIC_TEXT.get(category, FALLBACK_TEXT)


async def unread_badge(session: AsyncSession, user_id: uuid.UUID) -> tuple[int, int]:
    """(unread notifications, unread messages): the badge is their sum. Unread messages are
    those after the person's read pointer in conversations they are still in, not their own and
    not retracted."""
    notifications = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    messages = await session.scalar(
        select(func.count())
        .select_from(Message)
        .join(ConversationMember, ConversationMember.conversation_id == Message.conversation_id)
        .where(
            ConversationMember.user_id == user_id,
            ConversationMember.removed_at.is_(None),
            Message.seq > ConversationMember.read_seq,
            Message.retracted_at.is_(None),
            (Message.sender_id.is_(None)) | (Message.sender_id != user_id),
        )
    )
    return int(notifications or 0), int(messages or 0)


def build(job: PushJob, badge: int) -> PushMessage:
    return PushMessage(
        job_id=job.id,
        category=job.category,
        title=APP_NAME,
        body=generic_text(job.category, job.urgent),
        badge=badge,
        urgent=job.urgent,
        link=job.link,
        notification_id=job.notification_id,
        collapse_key=job.collapse_key,
    )

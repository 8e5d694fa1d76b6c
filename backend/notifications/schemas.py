"""Notification models; the public ones are the API contract in `shared.schemas.notifications`."""

from shared.schemas.notifications import NotificationPublic

__all__ = ["NotificationPublic"]

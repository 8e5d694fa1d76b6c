"""Notification models; the public ones are the API contract in `shared.schemas.notifications`."""

from shared.schemas.notifications import (
    DevicePublic,
    DeviceRegister,
    NotificationPreferencesPublic,
    NotificationPreferencesUpdate,
    NotificationPublic,
    PushMetrics,
    PushTestQueued,
    UnreadCount,
)

__all__ = [
    "DevicePublic",
    "DeviceRegister",
    "NotificationPreferencesPublic",
    "NotificationPreferencesUpdate",
    "NotificationPublic",
    "PushMetrics",
    "PushTestQueued",
    "UnreadCount",
]

"""The notification center, push devices, push preferences and push metrics."""

import uuid

from fastapi import APIRouter, Query, status

from backend.core.db import SessionDep
from backend.core.deps import SettingsDep
from backend.core.errors import ERROR_RESPONSES
from backend.identity.permissions import AdminUser, CurrentPrincipal
from backend.notifications import devices, metrics, preferences, service
from backend.notifications.permissions import OwnDevice
from backend.notifications.schemas import (
    DevicePublic,
    DeviceRegister,
    NotificationPreferencesPublic,
    NotificationPreferencesUpdate,
    NotificationPublic,
    PushMetrics,
    PushTestQueued,
    UnreadCount,
)
from shared.schemas.common import Page

router = APIRouter(prefix="/notifications", tags=["notifications"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[NotificationPublic])
async def list_notifications(
    principal: CurrentPrincipal,
    session: SessionDep,
    unread: bool = Query(default=False, description="Only those not read yet."),
) -> Page[NotificationPublic]:
    """Your latest notifications, newest first."""
    rows = await service.list_for(session, principal=principal, unread_only=unread)
    data = [service.public(n) for n in rows]
    return Page(data=data, count=len(data))


@router.get("/unread", response_model=UnreadCount)
async def unread_count(principal: CurrentPrincipal, session: SessionDep) -> UnreadCount:
    """The badge: unread notifications plus unread messages."""
    return await service.unread(session, principal=principal)


@router.post("/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_notification_read(
    notification_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> None:
    await service.mark_read(session, principal=principal, notification_id=notification_id)


@router.post("/read-all", status_code=status.HTTP_204_NO_CONTENT)
async def mark_all_read(principal: CurrentPrincipal, session: SessionDep) -> None:
    await service.mark_all_read(session, principal=principal)


# -- devices ----------------------------------------------------------------------------------


@router.get("/devices", response_model=Page[DevicePublic])
async def list_devices(principal: CurrentPrincipal, session: SessionDep) -> Page[DevicePublic]:
    """Your devices that receive pushes."""
    rows = await devices.list_for(session, principal=principal)
    data = [devices.device_public(d, principal) for d in rows]
    return Page(data=data, count=len(data))


@router.post("/devices", response_model=DevicePublic, status_code=status.HTTP_201_CREATED)
async def register_device(
    body: DeviceRegister, principal: CurrentPrincipal, session: SessionDep
) -> DevicePublic:
    """Register this device's push token (the app does this after sign-in and whenever the
    operating system hands it a new token). Signing out removes it."""
    device = await devices.register(session, principal=principal, data=body)
    return devices.device_public(device, principal)


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_device(
    device: OwnDevice, principal: CurrentPrincipal, session: SessionDep
) -> None:
    await devices.remove(session, principal=principal, device=device)


# -- preferences ------------------------------------------------------------------------------


@router.get("/preferences", response_model=NotificationPreferencesPublic)
async def read_preferences(
    principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> NotificationPreferencesPublic:
    prefs = await preferences.effective(session, principal.user, settings.push_default_timezone)
    return preferences.public(prefs)


@router.patch("/preferences", response_model=NotificationPreferencesPublic)
async def update_preferences(
    body: NotificationPreferencesUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> NotificationPreferencesPublic:
    """Switch categories on or off and set quiet hours. Alerts and security notices are always
    pushed; everything stays in the notification center."""
    prefs = await preferences.update_preferences(
        session,
        principal=principal,
        data=body,
        default_timezone=settings.push_default_timezone,
    )
    return preferences.public(prefs)


@router.post("/test-push", response_model=PushTestQueued, status_code=status.HTTP_202_ACCEPTED)
async def test_push(principal: CurrentPrincipal, session: SessionDep) -> PushTestQueued:
    """Send a test push to your devices now, even in quiet hours."""
    return await service.queue_test_push(session, principal=principal)


# -- metrics ----------------------------------------------------------------------------------


@router.get("/metrics", response_model=PushMetrics)
async def push_metrics(principal: AdminUser, session: SessionDep) -> PushMetrics:
    """Push delivery counts for your organization: queued, sent, retried, failed, deactivated
    tokens."""
    return await metrics.push_metrics(session, organization_id=principal.organization_id)

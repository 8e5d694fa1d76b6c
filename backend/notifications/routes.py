"""The in-app notification center."""

import uuid

from fastapi import APIRouter, status

from backend.core.db import SessionDep
from backend.core.errors import ERROR_RESPONSES
from backend.identity.permissions import CurrentPrincipal
from backend.notifications import service
from backend.notifications.schemas import NotificationPublic
from shared.schemas.common import Page

router = APIRouter(prefix="/notifications", tags=["notifications"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[NotificationPublic])
async def list_notifications(
    principal: CurrentPrincipal, session: SessionDep
) -> Page[NotificationPublic]:
    """Your latest notifications, newest first."""
    rows = await service.list_for(session, principal=principal)
    data = [NotificationPublic.model_validate(n, from_attributes=True) for n in rows]
    return Page(data=data, count=len(data))


@router.post("/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_notification_read(
    notification_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> None:
    await service.mark_read(session, principal=principal, notification_id=notification_id)

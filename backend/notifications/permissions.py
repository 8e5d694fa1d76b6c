"""Each person manages only their own devices and notifications: another person's device does
not exist for them (404), so ids cannot be probed."""

import uuid
from typing import Annotated

from fastapi import Depends, Path

from backend.core.db import SessionDep
from backend.identity.permissions import CurrentPrincipal
from backend.notifications import devices
from backend.notifications.models import PushDevice


async def get_own_device(
    device_id: Annotated[uuid.UUID, Path(description="The device's id.")],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> PushDevice:
    return await devices.own_device(session, principal, device_id)


OwnDevice = Annotated[PushDevice, Depends(get_own_device)]

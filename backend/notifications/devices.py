"""Push devices: registering, listing, removing, and deactivating tokens providers reject.

A device belongs to the sign-in session that registered it: signing out of that device, or out
of every device, removes it (see `remove_for_sessions`, called by `revoke_sessions`), so a phone
that is signed out stops receiving pushes for that person at once.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.core.errors import NotFound
from backend.core.types import utcnow
from backend.identity.permissions import Principal
from backend.notifications.models import PushDevice
from shared.schemas.notifications import DevicePublic, DeviceRegister


def device_public(device: PushDevice, principal: Principal) -> DevicePublic:
    return DevicePublic(
        id=device.id,
        platform=device.platform,
        app_version=device.app_version,
        locale=device.locale,
        token_suffix=device.token[-6:],
        active=device.active,
        this_device=device.auth_session_id == principal.session_id,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
    )


async def register(
    session: AsyncSession, *, principal: Principal, data: DeviceRegister
) -> PushDevice:
    """Store the token for this person and session. A token is unique: if another account (or
    another session) registered it before, it moves here, because the phone now belongs to
    whoever signed in last."""
    now = utcnow()
    statement = select(PushDevice).where(PushDevice.token == data.token)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    device = await session.scalar(statement)
    moved_from = None
    if device is None:
        device = PushDevice(token=data.token, user_id=principal.id, platform=data.platform)
        session.add(device)
    elif device.user_id != principal.id:
        moved_from = device.user_id
    device.user_id = principal.id
    device.auth_session_id = principal.session_id
    device.platform = data.platform
    device.app_version = data.app_version
    device.locale = data.locale
    device.active = True
    device.deactivated_at = None
    device.deactivated_reason = None
    device.last_seen_at = now
    # One session is one app install: an older token of this same session is replaced.
    await session.execute(
        delete(PushDevice).where(
            PushDevice.auth_session_id == principal.session_id,
            PushDevice.token != data.token,
        )
    )
    await session.flush()
    audit.record(
        session,
        action="push_device.register",
        actor=principal,
        resource_type="push_device",
        resource_id=device.id,
        detail={"platform": str(data.platform), "moved": moved_from is not None},
    )
    return device


async def list_for(session: AsyncSession, *, principal: Principal) -> list[PushDevice]:
    rows = await session.scalars(
        select(PushDevice)
        .where(PushDevice.user_id == principal.id)
        .order_by(PushDevice.last_seen_at.desc())
    )
    return list(rows.all())


async def own_device(session: AsyncSession, principal: Principal, device_id: uuid.UUID):
    device = await session.get(PushDevice, device_id)
    if device is None or device.user_id != principal.id:
        raise NotFound("No such device.")
    return device


async def remove(session: AsyncSession, *, principal: Principal, device: PushDevice) -> None:
    await session.delete(device)
    audit.record(
        session,
        action="push_device.remove",
        actor=principal,
        resource_type="push_device",
        resource_id=device.id,
    )


async def remove_for_sessions(session: AsyncSession, session_ids: Sequence[uuid.UUID]) -> None:
    """Signed-out sessions' devices get no more pushes."""
    if session_ids:
        await session.execute(
            delete(PushDevice)
            .where(PushDevice.auth_session_id.in_(list(session_ids)))
            .execution_options(synchronize_session=False)
        )


async def deactivate(session: AsyncSession, device_id: uuid.UUID, reason: str) -> bool:
    """The provider says the token will never work again (app removed, token invalid). Kept,
    inactive, for the metrics; the app registers a fresh token on its next start."""
    result = await session.execute(
        update(PushDevice)
        .where(PushDevice.id == device_id, PushDevice.active.is_(True))
        .values(active=False, deactivated_at=utcnow(), deactivated_reason=reason[:64])
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def active_devices(session: AsyncSession, user_id: uuid.UUID) -> list[PushDevice]:
    rows = await session.scalars(
        select(PushDevice).where(PushDevice.user_id == user_id, PushDevice.active.is_(True))
    )
    return list(rows.all())

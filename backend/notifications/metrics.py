"""Push delivery counts for an organization, read from the outbox and device tables themselves,
so every dispatcher process counts and nothing is lost on restart."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import utcnow
from backend.identity.models import User
from backend.notifications.models import PushDevice, PushJob
from shared.enums import PushOutcome, PushStatus
from shared.schemas.notifications import PushMetrics

_OUTCOMES = {o.value for o in PushOutcome}


async def push_metrics(session: AsyncSession, *, organization_id: uuid.UUID) -> PushMetrics:
    in_org = User.organization_id == organization_id
    by_status = dict(
        (
            await session.execute(
                select(PushJob.status, func.count())
                .join(User, User.id == PushJob.user_id)
                .where(in_org)
                .group_by(PushJob.status)
            )
        )
        .tuples()
        .all()
    )
    outcomes = dict(
        (
            await session.execute(
                select(PushJob.outcome, func.count())
                .join(User, User.id == PushJob.user_id)
                .where(in_org, PushJob.outcome.is_not(None))
                .group_by(PushJob.outcome)
            )
        )
        .tuples()
        .all()
    )
    retried = await session.scalar(
        select(func.coalesce(func.sum(PushJob.retries), 0))
        .join(User, User.id == PushJob.user_id)
        .where(in_org)
    )
    devices = dict(
        (
            await session.execute(
                select(PushDevice.active, func.count())
                .join(User, User.id == PushDevice.user_id)
                .where(in_org)
                .group_by(PushDevice.active)
            )
        )
        .tuples()
        .all()
    )
    now = utcnow()
    oldest = await session.scalar(
        select(func.min(PushJob.next_attempt_at))
        .join(User, User.id == PushJob.user_id)
        .where(
            in_org,
            PushJob.status == PushStatus.pending,
            PushJob.next_attempt_at <= now,
        )
    )
    return PushMetrics(
        queued=by_status.get(PushStatus.pending, 0) + by_status.get(PushStatus.sending, 0),
        sent=by_status.get(PushStatus.sent, 0),
        retried=int(retried or 0),
        failed=by_status.get(PushStatus.failed, 0),
        skipped=by_status.get(PushStatus.skipped, 0),
        deactivated_tokens=devices.get(False, 0),
        active_devices=devices.get(True, 0),
        outcomes={PushOutcome(k): v for k, v in outcomes.items() if k in _OUTCOMES},
        oldest_queued_seconds=(now - oldest).total_seconds() if oldest else None,
    )

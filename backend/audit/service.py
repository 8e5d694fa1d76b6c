"""Recording audit entries and reading them back."""

import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.chain import PENDING_KEY, VerifyReport, verify_chain
from backend.audit.models import GENESIS_HASH, AuditEntry
from backend.core.db import RequestContext
from backend.core.types import utcnow
from shared.enums import AccessBasis, AuditOutcome


class AuditActor(Protocol):
    id: uuid.UUID
    role: str
    organization_id: uuid.UUID


def record(
    session: AsyncSession,
    *,
    action: str,
    actor: AuditActor | None = None,
    patient_id: uuid.UUID | None = None,
    resource_type: str | None = None,
    resource_id: uuid.UUID | str | None = None,
    outcome: AuditOutcome = AuditOutcome.success,
    access_basis: AccessBasis | None = None,
    on_behalf_of_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Queue an entry; it is chained and written by the commit that ends this transaction.

    `detail` holds identifiers and counts only, never message text, answers or other PHI.
    """
    context: RequestContext = session.info.get("context") or RequestContext()
    entry = AuditEntry(
        id=0,
        occurred_at=utcnow(),
        organization_id=organization_id or (actor.organization_id if actor else None),
        actor_id=actor.id if actor else None,
        actor_role=str(actor.role) if actor else None,
        on_behalf_of_id=on_behalf_of_id,
        patient_id=patient_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        outcome=str(outcome),
        access_basis=str(access_basis) if access_basis else None,
        ip=context.ip,
        user_agent=context.user_agent,
        detail=detail or {},
        prev_hash=GENESIS_HASH,
        entry_hash="",
    )
    session.info.setdefault(PENDING_KEY, []).append(entry)


async def query(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    patient_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    outcome: AuditOutcome | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; `before_id` continues a previous page."""
    statement = select(AuditEntry).where(AuditEntry.organization_id == organization_id)
    for column, value in (
        (AuditEntry.patient_id, patient_id),
        (AuditEntry.actor_id, actor_id),
        (AuditEntry.action, action),
        (AuditEntry.outcome, str(outcome) if outcome else None),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(AuditEntry.occurred_at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.occurred_at < until)
    if before_id is not None:
        statement = statement.where(AuditEntry.id < before_id)
    statement = statement.order_by(AuditEntry.id.desc()).limit(limit)
    return list((await session.scalars(statement)).all())


async def verify(session: AsyncSession) -> VerifyReport:
    return await verify_chain(session)

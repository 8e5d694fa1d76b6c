"""The audit trail, for administrators."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from backend.audit import service
from backend.audit.schemas import AuditEntryPublic, AuditVerifyResult
from backend.core.db import SessionDep
from backend.core.errors import ERROR_RESPONSES
from backend.identity.permissions import AdminUser
from shared.enums import AuditOutcome
from shared.schemas.common import CursorPage

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("", response_model=CursorPage[AuditEntryPublic])
async def query_audit(
    principal: AdminUser,
    session: SessionDep,
    patient_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    outcome: AuditOutcome | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CursorPage[AuditEntryPublic]:
    """Newest first. Reading the trail is itself recorded in it."""
    entries = await service.query(
        session,
        organization_id=principal.organization_id,
        patient_id=patient_id,
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
        before_id=cursor,
        limit=limit,
    )
    service.record(
        session,
        action="audit.query",
        actor=principal,
        patient_id=patient_id,
        detail={"returned": len(entries)},
    )
    next_cursor = str(entries[-1].id) if len(entries) == limit else None
    return CursorPage(
        data=[AuditEntryPublic.model_validate(e, from_attributes=True) for e in entries],
        next_cursor=next_cursor,
    )


@router.get("/verify", response_model=AuditVerifyResult)
async def verify_audit(principal: AdminUser, session: SessionDep) -> AuditVerifyResult:
    """Walk the hash chain and report the first broken link, if any."""
    report = await service.verify(session)
    service.record(session, action="audit.verify", actor=principal, detail={"ok": report.ok})
    return AuditVerifyResult(
        ok=report.ok,
        checked=report.checked,
        first_broken_id=report.first_broken_id,
        problem=report.problem,
    )

"""Care-team membership, family access (consent) and emergency access."""

import uuid

from fastapi import APIRouter, status

from backend.careteam import service
from backend.careteam.permissions import (
    BreakGlassCandidate,
    GrantRevoker,
    PatientReader,
    PatientSelf,
    PatientSelfOrTeam,
    TeamManager,
)
from backend.careteam.schemas import (
    BreakGlassPublic,
    BreakGlassRequest,
    CareTeamMemberCreate,
    CareTeamMemberPublic,
    ProxyGrantPublic,
    ProxyGrantUpdate,
)
from backend.core.db import SessionDep
from backend.core.deps import SettingsDep
from backend.core.errors import ERROR_RESPONSES
from shared.schemas.common import Page

router = APIRouter(prefix="/patients/{patient_id}", tags=["care team"], responses=ERROR_RESPONSES)


@router.get("/care-team", response_model=Page[CareTeamMemberPublic])
async def list_care_team(access: PatientReader, session: SessionDep) -> Page[CareTeamMemberPublic]:
    """Who looks after this patient. Staff also see past members."""
    members = await service.list_team(session, access=access)
    return Page(data=members, count=len(members))


@router.post("/care-team", response_model=CareTeamMemberPublic, status_code=status.HTTP_201_CREATED)
async def add_care_team_member(
    body: CareTeamMemberCreate, access: TeamManager, session: SessionDep
) -> CareTeamMemberPublic:
    """Add a colleague to the team (the team's care manager). Access starts at once."""
    return await service.add_member(session, access=access, data=body)


@router.delete("/care-team/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def end_care_team_membership(
    member_id: uuid.UUID, access: TeamManager, session: SessionDep
) -> None:
    """End a membership (kept in the history). Access ends at once."""
    await service.end_member(session, access=access, member_id=member_id)


@router.get("/proxy-grants", response_model=Page[ProxyGrantPublic])
async def list_proxy_grants(
    access: PatientSelfOrTeam, session: SessionDep
) -> Page[ProxyGrantPublic]:
    """Family members the patient shares their care with, and what each may see."""
    grants = await service.list_grants(session, access=access)
    return Page(data=grants, count=len(grants))


@router.patch("/proxy-grants/{grant_id}", response_model=ProxyGrantPublic)
async def update_proxy_grant(
    grant_id: uuid.UUID, body: ProxyGrantUpdate, access: PatientSelf, session: SessionDep
) -> ProxyGrantPublic:
    """The patient changes what a family member may see, or until when."""
    return await service.update_grant(session, access=access, grant_id=grant_id, data=body)


@router.delete("/proxy-grants/{grant_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_proxy_grant(
    grant_id: uuid.UUID, access: GrantRevoker, session: SessionDep
) -> None:
    """Withdraw a family member's access; it ends on their very next request."""
    await service.revoke_grant(session, access=access, grant_id=grant_id)


@router.post("/break-glass", response_model=BreakGlassPublic, status_code=status.HTTP_201_CREATED)
async def break_glass(
    body: BreakGlassRequest,
    candidate: BreakGlassCandidate,
    session: SessionDep,
    settings: SettingsDep,
) -> BreakGlassPublic:
    """Emergency access for a clinician or care manager not on the team: lasts 60 minutes, is
    audited as emergency access, and the team's care managers are told."""
    principal, patient = candidate
    grant = await service.break_glass(
        session, settings=settings, principal=principal, patient=patient, reason=body.reason
    )
    return BreakGlassPublic.model_validate(grant, from_attributes=True)

"""Care-team membership, family proxy grants and emergency access."""

import uuid
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.careteam.access import PatientAccess, active_grant_clause, active_membership_clause
from backend.careteam.models import BreakGlassAccess, CareTeamMember, ProxyGrant
from backend.core.config import Settings
from backend.core.errors import Conflict, NotFound, Unprocessable
from backend.core.types import utcnow
from backend.identity.models import User
from backend.identity.permissions import Principal
from backend.messaging.hooks import patient_access_changed
from backend.notifications import service as notifications
from backend.patients.models import Patient
from shared.enums import STAFF_ROLES, AccessBasis, NotificationCategory, Role, TeamRole
from shared.schemas.patients import (
    CareTeamMemberCreate,
    CareTeamMemberPublic,
    ProxyGrantPublic,
    ProxyGrantUpdate,
)


async def team_members(
    session: AsyncSession, *, patient_id: uuid.UUID, include_past: bool = False
) -> list[CareTeamMemberPublic]:
    statement = (
        select(CareTeamMember, User)
        .join(User, User.id == CareTeamMember.user_id)
        .where(CareTeamMember.patient_id == patient_id)
        .order_by(CareTeamMember.team_role, User.full_name)
    )
    if not include_past:
        statement = statement.where(active_membership_clause(utcnow()))
    rows = await session.execute(statement)
    return [
        CareTeamMemberPublic(
            id=member.id,
            user_id=user.id,
            full_name=user.full_name,
            user_role=Role(user.role),
            team_role=TeamRole(member.team_role),
            start_at=member.start_at,
            end_at=member.end_at,
        )
        for member, user in rows
    ]


async def list_team(session: AsyncSession, *, access: PatientAccess) -> list[CareTeamMemberPublic]:
    members = await team_members(
        session, patient_id=access.patient.id, include_past=access.principal.is_staff
    )
    access.record(
        session, "careteam.read", resource_type="care_team", detail={"count": len(members)}
    )
    return members


async def add_member(
    session: AsyncSession, *, access: PatientAccess, data: CareTeamMemberCreate
) -> CareTeamMemberPublic:
    user = await session.get(User, data.user_id)
    if (
        user is None
        or user.organization_id != access.patient.organization_id
        or user.role not in STAFF_ROLES
        or not user.is_active
    ):
        raise Unprocessable(
            "Only active staff of your organization can join a care team.",
            code="invalid_member",
            fields=[{"field": "body.user_id", "message": "Pick an active staff member."}],
        )
    now = utcnow()
    if data.end_at is not None and data.end_at <= now:
        raise Unprocessable("The membership end must be in the future.", code="invalid_member")
    existing = await session.scalar(
        select(CareTeamMember.id).where(
            CareTeamMember.patient_id == access.patient.id,
            CareTeamMember.user_id == user.id,
            or_(CareTeamMember.end_at.is_(None), CareTeamMember.end_at > now),
        )
    )
    if existing is not None:
        raise Conflict(f"{user.full_name} is already on this care team.", code="already_member")
    member = CareTeamMember(
        patient_id=access.patient.id,
        user_id=user.id,
        team_role=data.team_role,
        start_at=now,
        end_at=data.end_at,
        added_by_id=access.principal.id,
    )
    session.add(member)
    await session.flush()
    access.record(
        session,
        "careteam.add",
        resource_type="care_team_member",
        resource_id=member.id,
        detail={"user_id": str(user.id), "team_role": str(data.team_role)},
    )
    await patient_access_changed(session, access.patient.id, actor_id=access.principal.id)
    return CareTeamMemberPublic(
        id=member.id,
        user_id=user.id,
        full_name=user.full_name,
        user_role=Role(user.role),
        team_role=data.team_role,
        start_at=member.start_at,
        end_at=member.end_at,
    )


async def end_member(session: AsyncSession, *, access: PatientAccess, member_id: uuid.UUID) -> None:
    member = await session.get(CareTeamMember, member_id)
    now = utcnow()
    if member is None or member.patient_id != access.patient.id:
        raise NotFound("No such care-team member for this patient.")
    if member.end_at is not None and member.end_at <= now:
        raise Conflict("This membership has already ended.", code="already_ended")
    member.end_at = now
    access.record(
        session,
        "careteam.remove",
        resource_type="care_team_member",
        resource_id=member.id,
        detail={"user_id": str(member.user_id)},
    )
    await patient_access_changed(session, access.patient.id, actor_id=access.principal.id)


def _grant_public(grant: ProxyGrant, grantee: User) -> ProxyGrantPublic:
    now = utcnow()
    return ProxyGrantPublic(
        id=grant.id,
        patient_id=grant.patient_id,
        grantee_id=grantee.id,
        grantee_name=grantee.full_name,
        relationship=grant.relationship,
        scopes=grant.scopes,
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
        created_at=grant.created_at,
        active=grant.revoked_at is None and (grant.expires_at is None or grant.expires_at > now),
    )


async def list_grants(session: AsyncSession, *, access: PatientAccess) -> list[ProxyGrantPublic]:
    rows = await session.execute(
        select(ProxyGrant, User)
        .join(User, User.id == ProxyGrant.grantee_id)
        .where(ProxyGrant.patient_id == access.patient.id)
        .order_by(ProxyGrant.created_at.desc())
    )
    grants = [_grant_public(grant, user) for grant, user in rows]
    access.record(
        session, "consent.read", resource_type="proxy_grant", detail={"count": len(grants)}
    )
    return grants


async def _grant(session: AsyncSession, access: PatientAccess, grant_id: uuid.UUID) -> ProxyGrant:
    grant = await session.get(ProxyGrant, grant_id)
    if grant is None or grant.patient_id != access.patient.id:
        raise NotFound("No such family access for this patient.")
    return grant


async def update_grant(
    session: AsyncSession, *, access: PatientAccess, grant_id: uuid.UUID, data: ProxyGrantUpdate
) -> ProxyGrantPublic:
    grant = await _grant(session, access, grant_id)
    if grant.revoked_at is not None:
        raise Conflict("This access was withdrawn; invite the person again.", code="grant_revoked")
    before = {"scopes": list(grant.scopes), "expires_at": str(grant.expires_at)}
    if data.scopes is not None:
        if not data.scopes:
            raise Unprocessable(
                "Keep at least one scope, or withdraw the access instead.", code="invalid_grant"
            )
        grant.scopes = sorted({str(s) for s in data.scopes})
    if "expires_at" in data.model_fields_set:
        if data.expires_at is not None and data.expires_at <= utcnow():
            raise Unprocessable("The end date must be in the future.", code="invalid_grant")
        grant.expires_at = data.expires_at
    access.record(
        session,
        "consent.update",
        resource_type="proxy_grant",
        resource_id=grant.id,
        detail={"before": before, "scopes": grant.scopes, "expires_at": str(grant.expires_at)},
    )
    await patient_access_changed(session, access.patient.id, actor_id=access.principal.id)
    grantee = await session.get(User, grant.grantee_id)
    assert grantee is not None
    return _grant_public(grant, grantee)


async def revoke_grant(
    session: AsyncSession, *, access: PatientAccess, grant_id: uuid.UUID
) -> None:
    grant = await _grant(session, access, grant_id)
    if grant.revoked_at is not None:
        return  # already withdrawn: nothing changes, nothing new to audit
    grant.revoked_at = utcnow()
    grant.revoked_by_id = access.principal.id
    access.record(session, "consent.revoke", resource_type="proxy_grant", resource_id=grant.id)
    await patient_access_changed(session, access.patient.id, actor_id=access.principal.id)


async def break_glass(
    session: AsyncSession,
    *,
    settings: Settings,
    principal: Principal,
    patient: Patient,
    reason: str,
) -> BreakGlassAccess:
    """Open a record one is not on the team for. Lasts a fixed time, is audited as emergency
    access, and tells the team's care managers (without naming the patient in the text)."""
    now = utcnow()
    on_team = await session.scalar(
        select(CareTeamMember.id).where(
            CareTeamMember.patient_id == patient.id,
            CareTeamMember.user_id == principal.id,
            active_membership_clause(now),
        )
    )
    if on_team is not None:
        raise Conflict("You are on this patient's care team already.", code="already_member")
    grant = BreakGlassAccess(
        patient_id=patient.id,
        user_id=principal.id,
        reason=reason.strip(),
        started_at=now,
        expires_at=now + timedelta(minutes=settings.break_glass_minutes),
    )
    session.add(grant)
    await session.flush()
    audit.record(
        session,
        action="patient.emergency_access",
        actor=principal,
        patient_id=patient.id,
        access_basis=AccessBasis.emergency,
        resource_type="break_glass_access",
        resource_id=grant.id,
        detail={"minutes": settings.break_glass_minutes},
    )
    managers = await session.scalars(
        select(CareTeamMember.user_id).where(
            CareTeamMember.patient_id == patient.id,
            CareTeamMember.team_role == TeamRole.care_manager,
            active_membership_clause(now),
        )
    )
    for manager_id in set(managers):
        notifications.notify(
            session,
            user_id=manager_id,
            category=NotificationCategory.security,
            title="Emergency access used",
            body="A colleague opened the record of a patient on your team with emergency access.",
            link=f"/patients/{patient.id}",
            urgent=True,
        )
    return grant


async def accessible_patient_ids(
    session: AsyncSession, *, principal: Principal
) -> dict[uuid.UUID, AccessBasis]:
    """Every patient the principal may open now, with the basis."""
    now = utcnow()
    found: dict[uuid.UUID, AccessBasis] = {}
    if principal.role == Role.patient:
        own = await session.scalar(select(Patient.id).where(Patient.user_id == principal.id))
        if own is not None:
            found[own] = AccessBasis.self
    elif principal.is_staff:
        for patient_id in await session.scalars(
            select(BreakGlassAccess.patient_id).where(
                BreakGlassAccess.user_id == principal.id, BreakGlassAccess.expires_at > now
            )
        ):
            found[patient_id] = AccessBasis.emergency
        for patient_id in await session.scalars(
            select(CareTeamMember.patient_id).where(
                CareTeamMember.user_id == principal.id, active_membership_clause(now)
            )
        ):
            found[patient_id] = AccessBasis.care_team
    elif principal.role == Role.family:
        for patient_id in await session.scalars(
            select(ProxyGrant.patient_id).where(
                ProxyGrant.grantee_id == principal.id, active_grant_clause(now)
            )
        ):
            found[patient_id] = AccessBasis.proxy
    return found

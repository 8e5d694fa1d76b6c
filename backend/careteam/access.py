"""Deciding whether a person may open a patient's record, and on what basis.

Deny by default: access exists only as the patient themself, as an active care-team member, as
a family member with an active grant (limited to its scopes), or through unexpired emergency
access. Everything here is read fresh on every request, so a revoked grant or an ended
membership takes effect on the very next call.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.careteam.models import BreakGlassAccess, CareTeamMember, ProxyGrant
from backend.core.types import utcnow
from backend.identity.permissions import Principal
from backend.patients.models import Patient
from shared.enums import AccessBasis, GrantScope, Role

ALL_SCOPES = frozenset(GrantScope)


@dataclass(frozen=True, slots=True)
class PatientAccess:
    """A principal's admitted access to one patient; carries what the audit trail needs."""

    patient: Patient
    principal: Principal
    basis: AccessBasis
    scopes: frozenset[GrantScope]
    emergency_expires_at: datetime | None = None

    def record(
        self,
        session: AsyncSession,
        action: str,
        *,
        resource_type: str | None = None,
        resource_id: uuid.UUID | str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Audit an access to this patient's data on the basis it was admitted."""
        audit.record(
            session,
            action=action,
            actor=self.principal,
            patient_id=self.patient.id,
            access_basis=self.basis,
            on_behalf_of_id=self.patient.id if self.basis == AccessBasis.proxy else None,
            resource_type=resource_type,
            resource_id=resource_id,
            detail=detail,
        )


def active_membership_clause(now: datetime) -> Any:
    return (CareTeamMember.start_at <= now) & or_(
        CareTeamMember.end_at.is_(None), CareTeamMember.end_at > now
    )


def active_grant_clause(now: datetime) -> Any:
    return ProxyGrant.revoked_at.is_(None) & or_(
        ProxyGrant.expires_at.is_(None), ProxyGrant.expires_at > now
    )


async def resolve(
    session: AsyncSession, *, principal: Principal, patient: Patient
) -> PatientAccess | str:
    """The access `principal` has to `patient`, or a sentence saying why there is none."""
    now = utcnow()
    if patient.organization_id != principal.organization_id:
        return "No patient with this id is visible to you."
    if patient.user_id == principal.id:
        return PatientAccess(patient, principal, AccessBasis.self, ALL_SCOPES)
    if principal.is_staff:
        on_team = await session.scalar(
            select(CareTeamMember.id).where(
                CareTeamMember.patient_id == patient.id,
                CareTeamMember.user_id == principal.id,
                active_membership_clause(now),
            )
        )
        if on_team is not None:
            return PatientAccess(patient, principal, AccessBasis.care_team, ALL_SCOPES)
        emergency = await session.scalar(
            select(BreakGlassAccess.expires_at)
            .where(
                BreakGlassAccess.patient_id == patient.id,
                BreakGlassAccess.user_id == principal.id,
                BreakGlassAccess.expires_at > now,
            )
            .order_by(BreakGlassAccess.expires_at.desc())
        )
        if emergency is not None:
            return PatientAccess(patient, principal, AccessBasis.emergency, ALL_SCOPES, emergency)
        hint = (
            " In an emergency you can open it with emergency access, giving a reason."
            if principal.role in (Role.care_manager, Role.clinician)
            else ""
        )
        return "You are not on this patient's care team." + hint
    if principal.role == Role.family:
        grants = (
            await session.scalars(
                select(ProxyGrant).where(
                    ProxyGrant.patient_id == patient.id,
                    ProxyGrant.grantee_id == principal.id,
                    active_grant_clause(now),
                )
            )
        ).all()
        scopes = frozenset(GrantScope(s) for grant in grants for s in grant.scopes)
        if scopes:
            return PatientAccess(patient, principal, AccessBasis.proxy, scopes)
        lapsed = await session.scalar(
            select(ProxyGrant.id).where(
                ProxyGrant.patient_id == patient.id, ProxyGrant.grantee_id == principal.id
            )
        )
        if lapsed is not None:
            return "Your access to this person's record has ended or was withdrawn."
    if principal.role == Role.admin:
        return "Administrators manage accounts; patient records are open to the care team only."
    return "No patient with this id is visible to you."

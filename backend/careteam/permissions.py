"""Patient access as FastAPI dependencies: routes declare what they need in their signature.

    async def read_patient(access: PatientReader) -> ...

The dependency loads the patient named in the path, admits or refuses (403/404, audited as
denied) before the handler runs. No handler checks roles itself.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.careteam.access import PatientAccess, resolve
from backend.core.db import SessionDep
from backend.core.errors import Forbidden, NotFound
from backend.identity.permissions import CurrentPrincipal, Principal, require_roles
from backend.patients.models import Patient
from shared.enums import BREAK_GLASS_ROLES, AccessBasis, AuditOutcome, GrantScope, Role

PatientIdPath = Annotated[uuid.UUID, Path(description="The patient record's id.")]

_SCOPE_WORDS = {
    GrantScope.messages: "messages",
    GrantScope.care_plan: "care plan",
    GrantScope.assessments: "assessments",
    GrantScope.education: "education",
    GrantScope.appointments: "appointments",
}


def _refuse(
    session: SessionDep, principal: Principal, patient_id: uuid.UUID, reason: str, status: int
) -> None:
    audit.record(
        session,
        action="patient.access_denied",
        actor=principal,
        patient_id=patient_id if status == 403 else None,
        outcome=AuditOutcome.denied,
        resource_type="patient",
        resource_id=patient_id,
    )
    error = Forbidden if status == 403 else NotFound
    raise error(reason, code="forbidden" if status == 403 else "not_found", keep_changes=True)


def patient_access(
    *,
    scope: GrantScope | None = None,
    bases: frozenset[AccessBasis] = frozenset(AccessBasis),
    roles: frozenset[Role] | None = None,
    doing: str = "do this",
) -> Callable[..., Awaitable[PatientAccess]]:
    """A dependency admitting a principal to the patient in the path.

    `scope`: what a family member's grant must include; `bases`: which kinds of access count;
    `roles`: which roles may act, on top of the access; `doing`: words for the refusal.
    """

    async def dependency(
        patient_id: PatientIdPath, principal: CurrentPrincipal, session: SessionDep
    ) -> PatientAccess:
        return await admit_patient(
            session, principal, patient_id, scope=scope, bases=bases, roles=roles, doing=doing
        )

    return dependency


async def admit_patient(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    *,
    scope: GrantScope | None = None,
    bases: frozenset[AccessBasis] = frozenset(AccessBasis),
    roles: frozenset[Role] | None = None,
    doing: str = "do this",
) -> PatientAccess:
    """The decision behind `patient_access`, for the few routes that name the patient in the
    request body rather than the path (declare those as dependencies too)."""
    patient = await session.get(Patient, patient_id)
    if patient is None or patient.organization_id != principal.organization_id:
        _refuse(session, principal, patient_id, "No patient with this id is visible to you.", 404)
    assert patient is not None
    access = await resolve(session, principal=principal, patient=patient)
    if isinstance(access, str):
        status = 403 if principal.is_staff or principal.role == Role.admin else 404
        _refuse(session, principal, patient_id, access, status)
    assert isinstance(access, PatientAccess)
    if access.basis not in bases or (roles is not None and principal.role not in roles):
        _refuse(session, principal, patient_id, f"You may not {doing} for this patient.", 403)
    if scope is not None and scope not in access.scopes:
        _refuse(
            session,
            principal,
            patient_id,
            f"{patient.given_name} has not shared their {_SCOPE_WORDS[scope]} with you.",
            403,
        )
    return access


PatientReader = Annotated[PatientAccess, Depends(patient_access(doing="view this record"))]
PatientSelfOrTeam = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.self, AccessBasis.care_team}),
            doing="manage who can see this record",
        )
    ),
]
PatientSelf = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.self}), doing="change the patient's own choices"
        )
    ),
]
GrantRevoker = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.self, AccessBasis.care_team}),
            roles=frozenset({Role.patient, Role.care_manager}),
            doing="withdraw a family member's access",
        )
    ),
]
TeamManager = Annotated[
    PatientAccess,
    Depends(
        patient_access(
            bases=frozenset({AccessBasis.care_team}),
            roles=frozenset({Role.care_manager}),
            doing="change the care team",
        )
    ),
]


async def _break_glass_patient(
    patient_id: PatientIdPath,
    principal: Annotated[Principal, Depends(require_roles(*BREAK_GLASS_ROLES))],
    session: SessionDep,
) -> tuple[Principal, Patient]:
    """Emergency access is for records one cannot otherwise open, so only the role and the
    organization are checked here; the service refuses those already on the team."""
    patient = await session.get(Patient, patient_id)
    if patient is None or patient.organization_id != principal.organization_id:
        _refuse(session, principal, patient_id, "No patient with this id is visible to you.", 404)
    assert patient is not None
    return principal, patient


BreakGlassCandidate = Annotated[tuple[Principal, Patient], Depends(_break_glass_patient)]

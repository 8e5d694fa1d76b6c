"""Reading and creating patient records."""

import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.careteam.access import PatientAccess
from backend.careteam.models import CareTeamMember
from backend.careteam.service import accessible_patient_ids
from backend.core.errors import Conflict, Unprocessable
from backend.identity.permissions import Principal
from backend.messaging.hooks import patient_access_changed
from backend.patients.models import Patient, PatientCondition
from shared.enums import AccessBasis, TeamRole
from shared.schemas.patients import ConditionPublic, PatientCreate, PatientDetail, PatientSummary

_TEAM_ROLE_FOR = {
    "care_manager": TeamRole.care_manager,
    "navigator": TeamRole.navigator,
    "clinician": TeamRole.clinician,
}


def _summary(patient: Patient, basis: AccessBasis) -> PatientSummary:
    return PatientSummary(
        id=patient.id,
        full_name=patient.full_name,
        birth_date=patient.birth_date,
        mrn=patient.mrn,
        access=basis,
    )


async def list_for(session: AsyncSession, *, principal: Principal) -> list[PatientSummary]:
    """Patients the caller may open now; each listed patient gets its own audit entry, so a
    patient's access history shows who saw them in a list."""
    bases = await accessible_patient_ids(session, principal=principal)
    if not bases:
        return []
    patients = await session.scalars(
        select(Patient)
        .where(Patient.id.in_(bases.keys()))
        .order_by(Patient.family_name, Patient.given_name)
    )
    summaries = [_summary(patient, bases[patient.id]) for patient in patients]
    for summary in summaries:
        audit.record(
            session,
            action="patient.list",
            actor=principal,
            patient_id=summary.id,
            access_basis=summary.access,
            on_behalf_of_id=summary.id if summary.access == AccessBasis.proxy else None,
            resource_type="patient",
            resource_id=summary.id,
        )
    return summaries


async def _detail(
    session: AsyncSession, patient: Patient, basis: AccessBasis, access: PatientAccess | None
) -> PatientDetail:
    conditions = await session.scalars(
        select(PatientCondition)
        .where(PatientCondition.patient_id == patient.id)
        .order_by(PatientCondition.display)
    )
    return PatientDetail(
        **_summary(patient, basis).model_dump(),
        sex=patient.sex,
        timezone=patient.timezone,
        phone=patient.phone,
        has_account=patient.user_id is not None,
        conditions=[
            ConditionPublic(
                code=c.code, system=c.system, display=c.display, onset_date=c.onset_date
            )
            for c in conditions
        ],
        emergency_access_expires_at=access.emergency_expires_at if access else None,
    )


async def detail(session: AsyncSession, *, access: PatientAccess) -> PatientDetail:
    access.record(session, "patient.read", resource_type="patient", resource_id=access.patient.id)
    return await _detail(session, access.patient, access.basis, access)


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            f"Unknown time zone {name!r}; use a name like America/Chicago.",
            code="invalid_timezone",
            fields=[{"field": "body.timezone", "message": "Unknown time zone."}],
        ) from None


async def create(
    session: AsyncSession, *, principal: Principal, data: PatientCreate
) -> PatientDetail:
    """A staff member registers a patient and joins their care team, so the record is never
    created without someone responsible for it."""
    _check_timezone(data.timezone)
    mrn = data.mrn or f"CC-{secrets.randbelow(10**8):08d}"
    taken = await session.scalar(
        select(Patient.id).where(
            Patient.organization_id == principal.organization_id, Patient.mrn == mrn
        )
    )
    if taken is not None:
        raise Conflict(f"Another patient already has MRN {mrn}.", code="mrn_taken")
    patient = Patient(
        organization_id=principal.organization_id,
        mrn=mrn,
        given_name=data.given_name.strip(),
        family_name=data.family_name.strip(),
        birth_date=data.birth_date,
        sex=data.sex,
        timezone=data.timezone,
        phone=data.phone,
    )
    session.add(patient)
    await session.flush()
    for condition in data.conditions:
        session.add(PatientCondition(patient_id=patient.id, **condition.model_dump()))
    session.add(
        CareTeamMember(
            patient_id=patient.id,
            user_id=principal.id,
            team_role=_TEAM_ROLE_FOR[principal.role],
            added_by_id=principal.id,
        )
    )
    audit.record(
        session,
        action="patient.create",
        actor=principal,
        patient_id=patient.id,
        access_basis=AccessBasis.care_team,
        resource_type="patient",
        resource_id=patient.id,
    )
    await patient_access_changed(session, patient.id, actor_id=principal.id)
    return await _detail(session, patient, AccessBasis.care_team, None)

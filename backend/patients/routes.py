"""Patient records, and invitations issued from a record (the patient, or family)."""

from fastapi import APIRouter, status

from backend.careteam.permissions import PatientReader, PatientSelfOrTeam
from backend.core.db import SessionDep
from backend.core.deps import SettingsDep
from backend.core.errors import ERROR_RESPONSES
from backend.identity import service as identity
from backend.identity.permissions import CareUser, StaffUser
from backend.identity.routes import invitation_created
from backend.identity.schemas import InvitationCreate, InvitationCreated
from backend.patients import service
from backend.patients.schemas import PatientCreate, PatientDetail, PatientSummary
from shared.schemas.common import Page

router = APIRouter(prefix="/patients", tags=["patients"], responses=ERROR_RESPONSES)


@router.get("", response_model=Page[PatientSummary])
async def list_patients(principal: CareUser, session: SessionDep) -> Page[PatientSummary]:
    """Staff: the patients on your care teams (and any opened with emergency access). Family:
    the people who shared their care with you. Patient: yourself."""
    patients = await service.list_for(session, principal=principal)
    return Page(data=patients, count=len(patients))


@router.post("", response_model=PatientDetail, status_code=status.HTTP_201_CREATED)
async def create_patient(
    body: PatientCreate, principal: StaffUser, session: SessionDep
) -> PatientDetail:
    """Register a patient; you join their care team."""
    return await service.create(session, principal=principal, data=body)


@router.get("/{patient_id}", response_model=PatientDetail)
async def read_patient(access: PatientReader, session: SessionDep) -> PatientDetail:
    """Demographics and conditions."""
    return await service.detail(session, access=access)


@router.post(
    "/{patient_id}/invitations",
    response_model=InvitationCreated,
    status_code=status.HTTP_201_CREATED,
)
async def invite_for_patient(
    body: InvitationCreate, access: PatientSelfOrTeam, session: SessionDep, settings: SettingsDep
) -> InvitationCreated:
    """Staff invite the patient to their record; the patient (or staff on their behalf) invite
    a family member with the scopes they will see."""
    invitation, token = await identity.invite_for_patient(
        session, settings=settings, actor=access.principal, patient=access.patient, data=body
    )
    return invitation_created(invitation, token)

"""Care plans in the demo organization: Robert Johnson's diabetes plan from the template
(metformin twice a day, a check-up in two weeks, two articles to read). Added only while he has
no plan."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.careplans import service
from backend.careplans.models import CarePlan
from backend.careteam.access import ALL_SCOPES, PatientAccess
from backend.education.library import ensure_library
from backend.identity.models import User
from backend.identity.permissions import Principal
from backend.patients.models import Patient
from shared.enums import AccessBasis
from shared.schemas.careplans import TemplateApply


async def seed(session: AsyncSession, *, patient_mrn: str, manager: User | None) -> None:
    await ensure_library(session)
    patient = await session.scalar(select(Patient).where(Patient.mrn == patient_mrn))
    if patient is None or manager is None:
        return
    if await session.scalar(select(CarePlan.id).where(CarePlan.patient_id == patient.id)):
        return
    access = PatientAccess(
        patient, Principal(user=manager, session_id=uuid.uuid4()), AccessBasis.care_team, ALL_SCOPES
    )
    await service.apply_template(
        session, access=access, data=TemplateApply(template_key="type-2-diabetes")
    )

"""Shared by the care-plan tests and the authorization matrix: a plan content, a plan saved
through the real service for a patient, and the ids the matrix needs."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backend.careplans import service
from backend.careteam.access import ALL_SCOPES, PatientAccess
from backend.core.db import Database
from backend.identity.models import User
from backend.identity.permissions import Principal
from backend.patients.models import Patient
from shared.enums import AccessBasis
from shared.schemas.careplans import CarePlanContent


def plan_content(start: date, *, appointment_at: datetime | None = None) -> dict[str, Any]:
    when = appointment_at or datetime.combine(start + timedelta(days=3), datetime.min.time(), UTC)
    return {
        "title": "Diabetes care plan",
        "conditions": [{"display": "Type 2 diabetes mellitus", "code": "44054006"}],
        "goals": [
            {"id": "goal-a1c", "title": "Keep my blood sugar in range", "measure": "HbA1c",
             "target": "below 7%", "due_date": (start + timedelta(days=90)).isoformat()}
        ],
        "activities": [
            {"kind": "medication", "id": "med-metformin", "drug": "Metformin",
             "dose": "500 mg, 1 tablet", "times": ["08:00", "20:00"],
             "start_date": start.isoformat(), "instructions": "Take with food."},
            {"kind": "lifestyle", "id": "walk", "title": "Walk for 30 minutes",
             "category": "exercise", "start_date": start.isoformat()},
            {"kind": "appointment", "id": "visit", "title": "Diabetes check-up",
             "starts_at": when.isoformat(), "location": "Riverside Clinic",
             "with_whom": "Dr. Okafor", "preparation": "Bring your log."},
            {"kind": "education", "id": "read-1", "article_slug": "checking-your-blood-sugar",
             "start_date": start.isoformat()},
        ],
    }  # fmt: skip


async def save_plan(
    db: Database, patient_id: uuid.UUID, staff: User, content: dict[str, Any]
) -> int:
    """Save `content` as the patient's plan through the service, as `staff` on the team."""
    async with db.session() as session:
        patient = await session.get(Patient, patient_id)
        user = await session.get(User, staff.id)
        assert patient is not None and user is not None
        access = PatientAccess(
            patient, Principal(user=user, session_id=uuid.uuid4()), AccessBasis.care_team,
            ALL_SCOPES,
        )  # fmt: skip
        public = await service.save(
            session,
            access=access,
            content=CarePlanContent.model_validate(content),
            base_version=None,
            note=None,
        )
        session.info.pop("after_commit", None)
        await session.commit()
    return public.version


@dataclass
class CarePlanStage:
    version: int
    article_slug: str

    def path_ids(self) -> dict[str, str]:
        return {"version": str(self.version), "slug": self.article_slug}


async def stage_care_plan(db: Database, patient: Patient, staff: User) -> CarePlanStage:
    today = service.local_today(patient)
    version = await save_plan(db, patient.id, staff, plan_content(today - timedelta(days=1)))
    return CarePlanStage(version=version, article_slug="checking-your-blood-sugar")

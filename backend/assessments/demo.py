"""Assessments in the demo organization: the shipped instruments, and two completed PHQ-9s for
Robert Johnson a month apart, so the results screen opens on a real trend. Added only while
he has no PHQ-9 results."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.assessments import scoring
from backend.assessments.instruments import ensure_shipped, shipped_by_key
from backend.assessments.models import AssessmentAssignment, AssessmentResponse
from backend.assessments.service import definition_of, rules_of
from backend.core.types import utcnow
from backend.identity.models import User
from backend.patients.models import Patient
from shared.enums import AccessBasis, AssignmentReason, AssignmentStatus

NOT_AT_ALL, SEVERAL, MORE_THAN_HALF, NEARLY_EVERY = "LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"
HISTORY = (
    # days ago, answers to items 1-9, item 10
    (
        44,
        [MORE_THAN_HALF, MORE_THAN_HALF, NEARLY_EVERY, MORE_THAN_HALF, SEVERAL, SEVERAL,
         SEVERAL, NOT_AT_ALL, NOT_AT_ALL],
        "LA6575-0",
    ),
    (
        16,
        [SEVERAL, SEVERAL, MORE_THAN_HALF, SEVERAL, SEVERAL, NOT_AT_ALL, SEVERAL, NOT_AT_ALL,
         NOT_AT_ALL],
        "LA6573-5",
    ),
)  # fmt: skip


async def seed(session: AsyncSession, *, patient_mrn: str, manager: User | None) -> None:
    await ensure_shipped(session)
    phq9 = await shipped_by_key(session, "phq-9")
    patient = await session.scalar(select(Patient).where(Patient.mrn == patient_mrn))
    if phq9 is None or patient is None or patient.user_id is None:
        return
    done = await session.scalar(
        select(AssessmentResponse.id).where(
            AssessmentResponse.patient_id == patient.id,
            AssessmentResponse.questionnaire_id == phq9.id,
        )
    )
    if done is not None:
        return
    definition, rules = definition_of(phq9), rules_of(phq9)
    now = utcnow()
    for days_ago, items, difficulty in HISTORY:
        when = now - timedelta(days=days_ago)
        answers = {f"phq9-{i}": [code] for i, code in enumerate(items, start=1)}
        answers["phq9-10"] = [difficulty]
        verdict = scoring.evaluate(definition, rules, answers, sex=patient.sex)
        assignment = AssessmentAssignment(
            patient_id=patient.id,
            questionnaire_id=phq9.id,
            status=AssignmentStatus.completed,
            reason=AssignmentReason.manual,
            due_at=when,
            assigned_by_id=manager.id if manager else None,
            created_at=when - timedelta(days=2),
            completed_at=when,
        )
        session.add(assignment)
        await session.flush()
        session.add(
            AssessmentResponse(
                assignment_id=assignment.id,
                patient_id=patient.id,
                questionnaire_id=phq9.id,
                status=AssignmentStatus.completed,
                answers=answers,
                answered_by_id=patient.user_id,
                access_basis=AccessBasis.self,
                started_at=when - timedelta(minutes=6),
                updated_at=when,
                submitted_at=when,
                score=verdict.score,
                band_code=verdict.band.code if verdict.band else None,
                positive=verdict.positive,
                critical=bool(verdict.critical),
                result=verdict.as_result(),
            )
        )
    await session.flush()

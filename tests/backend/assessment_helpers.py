"""Shared by the assessment tests and the authorization matrix: the shipped instruments as
parsed definitions, answers that reach a chosen score, and a staged world for the matrix."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from backend.assessments import scoring
from backend.assessments.definition import Definition, parse
from backend.assessments.instruments import ensure_shipped, shipped, shipped_by_key
from backend.assessments.models import (
    AssessmentAlert,
    AssessmentAssignment,
    AssessmentResponse,
)
from backend.core.db import Database
from backend.core.types import utcnow
from shared.enums import AccessBasis, AssignmentReason, AssignmentStatus
from shared.schemas.assessments import ScoringRules


def instrument(key: str) -> tuple[Definition, ScoringRules]:
    found = next(i for i in shipped() if i.key == key)
    return parse(found.resource), ScoringRules.model_validate(found.scoring)


def answers_for_score(key: str, score: int, *, spare: tuple[str, ...] = ()) -> dict[str, list]:
    """Choice codes for the summed items adding up to `score` (items in `spare` stay at 0),
    filled greedily from the first item."""
    definition, rules = instrument(key)
    assert rules.score is not None
    answers: dict[str, list] = {}
    left = score
    for link_id in rules.score.items:
        item = definition.items[link_id]
        by_ordinal = sorted(item.options, key=lambda o: o.ordinal or 0)
        best = by_ordinal[0]
        if link_id not in spare:
            for option in by_ordinal:
                if (option.ordinal or 0) <= left:
                    best = option
        left -= int(best.ordinal or 0)
        answers[link_id] = [best.code]
    assert left == 0, f"{key}: {score} is out of reach"
    return answers


def as_payload(answers: dict[str, list[Any]]) -> dict[str, Any]:
    return {"answers": [{"link_id": k, "values": v} for k, v in answers.items()]}


def phq9_answers(score: int, *, item9: int = 0) -> dict[str, list]:
    """A full PHQ-9 (item 10 answered when anything is above 0) with item 9 at `item9`."""
    codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    answers = answers_for_score("phq-9", score - item9, spare=("phq9-9",))
    answers["phq9-9"] = [codes[item9]]
    if score > 0:
        answers["phq9-10"] = ["LA6573-5"]
    return answers


@dataclass(frozen=True)
class AssessmentStage:
    questionnaire_id: uuid.UUID
    assignment_id: uuid.UUID
    response_id: uuid.UUID
    alert_id: uuid.UUID

    def path_ids(self) -> dict[str, str]:
        return {
            "questionnaire_id": str(self.questionnaire_id),
            "assignment_id": str(self.assignment_id),
            "response_id": str(self.response_id),
            "alert_id": str(self.alert_id),
        }


PHQ2_ALL_ZERO = {"answers": [{"link_id": f"phq2-{i}", "values": ["LA6568-5"]} for i in (1, 2)]}


async def stage_assessments(db: Database, patient_id: uuid.UUID, patient_user_id: uuid.UUID):
    """For the matrix: an open PHQ-2 (to read, draft, submit, cancel) and a completed PHQ-9
    with an open critical alert (to read, export, acknowledge)."""
    async with db.session() as session:
        await ensure_shipped(session)
        phq2 = await shipped_by_key(session, "phq-2")
        phq9 = await shipped_by_key(session, "phq-9")
        assert phq2 is not None and phq9 is not None
        now = utcnow()
        open_one = AssessmentAssignment(
            patient_id=patient_id,
            questionnaire_id=phq2.id,
            due_at=now + timedelta(days=3),
            reason=AssignmentReason.manual,
        )
        done = AssessmentAssignment(
            patient_id=patient_id,
            questionnaire_id=phq9.id,
            status=AssignmentStatus.completed,
            due_at=now,
            completed_at=now,
        )
        session.add_all([open_one, done])
        await session.flush()
        definition, rules = instrument("phq-9")
        answers = phq9_answers(12, item9=1)
        verdict = scoring.evaluate(definition, rules, answers)
        response = AssessmentResponse(
            assignment_id=done.id,
            patient_id=patient_id,
            questionnaire_id=phq9.id,
            status=AssignmentStatus.completed,
            answers=answers,
            answered_by_id=patient_user_id,
            access_basis=AccessBasis.self,
            submitted_at=now,
            score=verdict.score,
            band_code=verdict.band.code if verdict.band else None,
            positive=verdict.positive,
            critical=True,
            result=verdict.as_result(),
        )
        session.add(response)
        await session.flush()
        alert = AssessmentAlert(
            patient_id=patient_id,
            response_id=response.id,
            rule_id="phq9-self-harm",
            reason="PHQ-9 item 9",
        )
        session.add(alert)
        await session.commit()
        return AssessmentStage(
            questionnaire_id=phq9.id,
            assignment_id=open_one.id,
            response_id=response.id,
            alert_id=alert.id,
        )

"""Assessments: questionnaires (FHIR R4 Questionnaire resources), their scoring rules as data,
assignments to patients, answers, scored results, trends and critical-answer alerts.

Answers travel as `{"link_id": ..., "values": [...]}`, one entry per answered item: a `choice`
item's value is the code of one of its options, `open-choice` a code or free text, `boolean`
true/false, `integer`/`decimal` a number, `string`/`text` text, `date` "YYYY-MM-DD". Only
`repeats` items take more than one value. Scores are computed by the server only.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from shared.enums import AlertStatus, AssignmentReason, AssignmentStatus

AnswerValue = bool | int | float | str
MAX_ANSWERS = 500
MAX_VALUES_PER_ITEM = 50
MAX_TEXT_ANSWER = 4000
Comparator = Literal["=", "!=", ">", "<", ">=", "<=", "exists"]

# -- scoring rules (data attached to a questionnaire) -----------------------------------------


class ScoreRule(BaseModel):
    method: Literal["sum"] = "sum"
    items: list[str] = Field(min_length=1, max_length=200, description="linkIds summed.")
    min: int = 0
    max: int
    loinc: str | None = Field(default=None, description="LOINC code of the total score.")
    display: str | None = None


class Band(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=120)
    min: int
    max: int


class PositiveRule(BaseModel):
    """The screen is positive when the total is at least `at_least` (only for patients of
    this recorded sex, when `sex` is given; a sex-specific rule wins over a general one)."""

    at_least: int
    sex: str | None = None


class ItemRule(BaseModel):
    """An item and a condition on its answer: `on="ordinal"` compares the option's ordinal
    value, `on="answer"` the answer itself (a code, a boolean, a number)."""

    id: str = Field(min_length=1, max_length=60)
    item: str = Field(min_length=1, max_length=100)
    operator: Comparator
    value: AnswerValue
    on: Literal["ordinal", "answer"] = "answer"
    label: str = Field(min_length=1, max_length=200)


class FollowUpRule(BaseModel):
    """When the total is at least `at_least`, assign the questionnaire keyed `assign`."""

    at_least: int
    assign: str = Field(min_length=1, max_length=60)
    due_in_days: int = Field(default=1, ge=0, le=90)


class ScoringRules(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "score": {"method": "sum", "items": ["q1", "q2"], "min": 0, "max": 6},
                    "bands": [
                        {"code": "low", "label": "Low", "min": 0, "max": 2},
                        {"code": "high", "label": "High", "min": 3, "max": 6},
                    ],
                    "positive": [{"at_least": 3}],
                    "critical": [],
                    "flags": [],
                    "follow_up": [],
                }
            ]
        }
    }

    instrument: str | None = None
    score: ScoreRule | None = None
    bands: list[Band] = Field(default_factory=list, max_length=20)
    positive: list[PositiveRule] = Field(default_factory=list, max_length=10)
    critical: list[ItemRule] = Field(default_factory=list, max_length=50)
    flags: list[ItemRule] = Field(default_factory=list, max_length=50)
    follow_up: list[FollowUpRule] = Field(default_factory=list, max_length=10)


# -- questionnaires --------------------------------------------------------------------------


class QuestionnaireSummary(BaseModel):
    id: uuid.UUID
    key: str = Field(description="Stable short name, e.g. `phq-9`.")
    title: str
    version: str
    description: str | None = None
    loinc_code: str | None = None
    shipped: bool = Field(description="Shipped with CareCircle (true) or uploaded by staff.")
    scored: bool
    question_count: int


class QuestionnaireDetail(QuestionnaireSummary):
    resource: dict[str, Any] = Field(description="The FHIR R4 Questionnaire resource.")
    scoring: ScoringRules | None = None


class QuestionnaireUpload(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "resource": {
                        "resourceType": "Questionnaire",
                        "url": "https://clinic.example/fhir/Questionnaire/sleep-check",
                        "version": "1",
                        "name": "SleepCheck",
                        "title": "Sleep check",
                        "status": "active",
                        "item": [
                            {
                                "linkId": "hours",
                                "text": "How many hours did you sleep last night?",
                                "type": "integer",
                                "required": True,
                            }
                        ],
                    },
                    "scoring": None,
                }
            ]
        }
    }

    resource: dict[str, Any] = Field(description="A FHIR R4 Questionnaire resource.")
    scoring: ScoringRules | None = Field(default=None, description="Optional scoring rules.")


# -- assignments and answers -----------------------------------------------------------------


class AssignmentCreate(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "questionnaire_id": "5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                    "due_at": "2026-12-01T17:00:00Z",
                    "recurrence_days": 14,
                }
            ]
        }
    }

    questionnaire_id: uuid.UUID
    due_at: AwareDatetime = Field(description="When it should be completed (with a time zone).")
    recurrence_days: int | None = Field(
        default=None, ge=1, le=365, description="Send it again this many days after each due date."
    )


class AssignmentPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    questionnaire_id: uuid.UUID
    questionnaire_key: str
    questionnaire_title: str
    status: AssignmentStatus
    reason: AssignmentReason
    due_at: datetime
    overdue: bool
    recurrence_days: int | None
    assigned_by_name: str | None = Field(description="None when a rule assigned it.")
    created_at: datetime
    completed_at: datetime | None
    draft_saved_at: datetime | None
    response_id: uuid.UUID | None


class Answer(BaseModel):
    link_id: str = Field(min_length=1, max_length=100)
    values: list[AnswerValue] = Field(max_length=MAX_VALUES_PER_ITEM)


class AnswersIn(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "answers": [
                        {"link_id": "phq9-1", "values": ["LA6569-3"]},
                        {"link_id": "phq9-2", "values": ["LA6568-5"]},
                    ]
                }
            ]
        }
    }

    answers: list[Answer] = Field(max_length=MAX_ANSWERS)


class AssignmentDetail(AssignmentPublic):
    questionnaire: dict[str, Any] = Field(description="The FHIR Questionnaire to render.")
    answers: list[Answer] = Field(description="The saved draft (or the submitted answers).")
    answered_by_name: str | None = None
    on_behalf: bool = False


class DraftSaved(BaseModel):
    assignment_id: uuid.UUID
    saved_at: datetime
    answered: int
    dropped: list[str] = Field(
        description="linkIds whose answers were dropped because the item is not enabled by "
        "the other answers (enableWhen)."
    )


class SubmissionReceipt(BaseModel):
    response_id: uuid.UUID
    assignment_id: uuid.UUID
    submitted_at: datetime
    dropped: list[str] = Field(description="Answers to disabled items that were not stored.")
    next_assignment_id: uuid.UUID | None = Field(
        description="The next round of a recurring assignment, if one was created."
    )


# -- results ---------------------------------------------------------------------------------


class Driver(BaseModel):
    """An answer that added to the score (or matched a rule)."""

    link_id: str
    text: str
    answer: str
    points: float | None = None


class Finding(BaseModel):
    rule_id: str
    link_id: str
    label: str
    answer: str


class ResultPublic(BaseModel):
    response_id: uuid.UUID
    assignment_id: uuid.UUID
    patient_id: uuid.UUID
    questionnaire_id: uuid.UUID
    questionnaire_key: str
    questionnaire_title: str
    submitted_at: datetime
    score: int | None
    score_max: int | None
    band_code: str | None
    band_label: str | None
    positive: bool | None = Field(description="None when the instrument has no screen rule.")
    critical: bool
    critical_findings: list[Finding]
    flags: list[Finding]
    drivers: list[Driver]
    answered_by_name: str
    on_behalf: bool = Field(description="A family member answered on the patient's behalf.")


class AnsweredItem(BaseModel):
    link_id: str
    text: str
    answers: list[str]


class ResultDetail(ResultPublic):
    answers: list[AnsweredItem]


class TrendPoint(BaseModel):
    response_id: uuid.UUID
    submitted_at: datetime
    score: int
    band_code: str | None
    band_label: str | None


class Trend(BaseModel):
    questionnaire_key: str
    questionnaire_title: str
    score_min: int
    score_max: int
    bands: list[Band]
    points: list[TrendPoint] = Field(description="Oldest first.")
    change: int | None = Field(description="Latest score minus the one before it.")
    direction: Literal["better", "worse", "same"] | None = Field(
        description="Lower is better on every shipped instrument."
    )


# -- alerts ----------------------------------------------------------------------------------


class AlertPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    response_id: uuid.UUID
    questionnaire_title: str
    reason: str = Field(description="Which rule fired, e.g. 'PHQ-9 item 9'.")
    status: AlertStatus
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_name: str | None
    note: str | None


class AlertAcknowledge(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [{"note": "Called the patient; safety plan reviewed, no immediate risk."}]
        }
    }

    note: str | None = Field(default=None, max_length=1000)

"""Care plans: conditions addressed, goals and activities, with plain-language text for the
patient beside clinical detail for staff; versions and what changed; Today's to-do list and
adherence; reminder settings.

A plan is one document (`CarePlanContent`) replaced as a whole on every edit, so every change
is a new numbered version and nothing is half-written. Goals and activities keep a stable `id`
across versions (the server gives one to each new entry); diffs and Today's items refer to it.
Unknown fields are refused (422), and so are impossible schedules: an end before its start, a
medication without times of day, the same time twice.
"""

import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.enums import (
    ChangeAction,
    GoalStatus,
    LifestyleCategory,
    TodayItemStatus,
)

Text200 = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=2000)]
ItemId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
MAX_TIMES = 8


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConditionRef(_Strict):
    display: Text200 = Field(description="Clinical name, e.g. `Type 2 diabetes mellitus`.")
    code: str | None = Field(default=None, max_length=40, description="SNOMED CT code.")
    plain: str | None = Field(default=None, max_length=200, description="For the patient.")


class Goal(_Strict):
    id: ItemId | None = None
    title: Text200 = Field(description="Plain language, for the patient.")
    measure: str = Field(max_length=200, description="What is measured, e.g. `HbA1c`.")
    target: str = Field(max_length=200, description="The target, e.g. `below 7%`.")
    due_date: date | None = None
    status: GoalStatus = GoalStatus.in_progress
    progress: str | None = Field(default=None, max_length=200, description="Latest value.")
    clinical_detail: LongText | None = Field(default=None, description="For staff only.")


def _times_ok(times: list[time]) -> None:
    if len(set(times)) != len(times):
        raise ValueError("the same time of day is listed twice")


def _period_ok(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError("the end date is before the start date")


class MedicationActivity(_Strict):
    kind: Literal["medication"] = "medication"
    id: ItemId | None = None
    drug: Text200
    dose: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="e.g. `500 mg, 1 tablet`."
    )
    route: str | None = Field(default=None, max_length=40)
    times: list[time] = Field(
        min_length=1, max_length=MAX_TIMES, description="Local times of day, e.g. `08:00`."
    )
    start_date: date
    end_date: date | None = None
    instructions: LongText | None = Field(default=None, description="Plain language.")
    clinical_detail: LongText | None = None

    @model_validator(mode="after")
    def _schedule(self) -> "MedicationActivity":
        _times_ok(self.times)
        _period_ok(self.start_date, self.end_date)
        self.times = sorted(self.times)
        return self


class AppointmentActivity(_Strict):
    kind: Literal["appointment"] = "appointment"
    id: ItemId | None = None
    title: Text200
    starts_at: AwareDatetime
    duration_minutes: int = Field(default=30, ge=5, le=720)
    location: str | None = Field(default=None, max_length=200)
    with_whom: str | None = Field(default=None, max_length=200)
    preparation: LongText | None = Field(default=None, description="What to bring or do.")
    clinical_detail: LongText | None = None


class TaskActivity(_Strict):
    """A check-in or a lifestyle task (diet, exercise): on some weekdays or every day, once or
    at given times."""

    kind: Literal["check_in", "lifestyle"]
    id: ItemId | None = None
    title: Text200
    category: LifestyleCategory | None = None
    instructions: LongText | None = None
    times: list[time] = Field(default_factory=list, max_length=MAX_TIMES)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=list, description="ISO weekdays (1 = Monday); empty means every day."
    )
    start_date: date
    end_date: date | None = None
    clinical_detail: LongText | None = None

    @model_validator(mode="after")
    def _schedule(self) -> "TaskActivity":
        _times_ok(self.times)
        _period_ok(self.start_date, self.end_date)
        self.times = sorted(self.times)
        return self


class EducationActivity(_Strict):
    """Read an article from the library; shown on Today from `start_date` until read (or the
    due date passes)."""

    kind: Literal["education"] = "education"
    id: ItemId | None = None
    article_slug: Annotated[str, Field(min_length=1, max_length=80)]
    title: str | None = Field(default=None, max_length=200, description="Filled by the server.")
    start_date: date
    due_date: date | None = None

    @model_validator(mode="after")
    def _schedule(self) -> "EducationActivity":
        _period_ok(self.start_date, self.due_date)
        return self


class AssessmentActivity(_Strict):
    kind: Literal["assessment"] = "assessment"
    id: ItemId | None = None
    questionnaire_key: Annotated[str, Field(min_length=1, max_length=60)]
    title: Text200
    every_days: int = Field(ge=1, le=365)
    start_date: date
    end_date: date | None = None

    @model_validator(mode="after")
    def _schedule(self) -> "AssessmentActivity":
        _period_ok(self.start_date, self.end_date)
        return self


Activity = Annotated[
    MedicationActivity
    | AppointmentActivity
    | TaskActivity
    | EducationActivity
    | AssessmentActivity,
    Field(discriminator="kind"),
]


class CarePlanContent(_Strict):
    title: Text200 = "Care plan"
    summary: str | None = Field(default=None, max_length=2000, description="For the patient.")
    conditions: list[ConditionRef] = Field(default_factory=list, max_length=30)
    goals: list[Goal] = Field(default_factory=list, max_length=50)
    activities: list[Activity] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _unique_ids(self) -> "CarePlanContent":
        ids = [x.id for x in [*self.goals, *self.activities] if x.id]
        if len(set(ids)) != len(ids):
            raise ValueError("two goals or activities share an id")
        return self


EXAMPLE_CONTENT = {
    "title": "Diabetes care plan",
    "conditions": [{"display": "Type 2 diabetes mellitus", "code": "44054006"}],
    "goals": [{"title": "Keep my blood sugar in range", "measure": "HbA1c", "target": "below 7%"}],
    "activities": [
        {
            "kind": "medication",
            "drug": "Metformin",
            "dose": "500 mg, 1 tablet",
            "times": ["08:00", "20:00"],
            "start_date": "2026-03-01",
            "instructions": "Take with food.",
        }
    ],
}


class CarePlanWrite(_Strict):
    """The whole plan as it should be now. `base_version` is the version you edited: if
    someone saved a newer one meanwhile, the answer is 409 and nothing is written."""

    content: CarePlanContent
    base_version: int | None = Field(default=None, ge=0)
    note: str | None = Field(default=None, max_length=300, description="Why it changed.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"content": EXAMPLE_CONTENT, "base_version": 1}]},
    )


class TemplateApply(_Strict):
    template_key: Annotated[str, Field(min_length=1, max_length=60)]
    start_date: date | None = Field(default=None, description="Defaults to today (patient's).")
    replace: bool = Field(default=False, description="Replace an existing plan.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"template_key": "type-2-diabetes"}]},
    )


class TemplateSummary(BaseModel):
    key: str
    title: str
    condition: str
    goals: int
    activities: int


class Change(BaseModel):
    section: Literal["plan", "conditions", "goals", "activities"]
    action: ChangeAction
    item_id: str | None = None
    label: str
    fields: list[str] = Field(default_factory=list)


class CarePlanPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    version: int
    content: CarePlanContent
    updated_at: datetime
    updated_by_name: str | None
    changes_since_last_seen: list[Change] = Field(
        default_factory=list, description="For the patient or family: since they last looked."
    )
    last_seen_version: int | None = None


class VersionSummary(BaseModel):
    version: int
    changed_at: datetime
    changed_by_name: str | None
    note: str | None
    changes: list[Change]


class VersionDetail(VersionSummary):
    content: CarePlanContent


class TodayItem(BaseModel):
    """One thing to do on one local day. `key` names it for marking (activity, day, time)."""

    key: str
    activity_id: str
    kind: str
    title: str
    detail: str | None = None
    due_at: datetime | None = Field(default=None, description="UTC; None: any time today.")
    local_time: str | None = Field(default=None, description="`HH:MM` in the patient's zone.")
    status: TodayItemStatus = TodayItemStatus.due
    overdue: bool = False
    reason: str | None = None
    link: str | None = None


class TodayList(BaseModel):
    patient_id: uuid.UUID
    date: date
    timezone: str
    items: list[TodayItem]
    done: int
    total: int


class MarkIn(_Strict):
    item_key: Annotated[str, Field(min_length=1, max_length=120)]
    status: Literal["done", "skipped"]
    reason: str | None = Field(default=None, max_length=300, description="Why it was skipped.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"item_key": "a1b2c3:2026-03-08:08:00", "status": "done"}]},
    )

    @model_validator(mode="after")
    def _reason(self) -> "MarkIn":
        if self.status == "skipped" and not (self.reason or "").strip():
            raise ValueError("say why the item was skipped")
        return self


class AdherenceLine(BaseModel):
    activity_id: str | None
    label: str
    expected: int
    done: int
    skipped: int
    missed: int
    rate: float | None = Field(description="done / expected; None when nothing was due.")


class AdherenceReport(BaseModel):
    patient_id: uuid.UUID
    days: int
    overall: AdherenceLine
    medications: list[AdherenceLine]
    other: list[AdherenceLine]


class ReminderSettings(_Strict):
    medication_reminders: bool = True
    appointment_reminders: bool = True
    appointment_lead_minutes: int = Field(default=120, ge=0, le=10080)
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    medication_times: dict[str, list[time]] = Field(
        default_factory=dict,
        description="Your own reminder times per medication activity id (default: its times).",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "medication_reminders": True,
                    "appointment_reminders": True,
                    "appointment_lead_minutes": 120,
                    "quiet_hours_start": "22:00",
                    "quiet_hours_end": "07:00",
                    "medication_times": {},
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _times(self) -> "ReminderSettings":
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("give both ends of the quiet hours, or neither")
        for times in self.medication_times.values():
            if not times or len(times) > MAX_TIMES:
                raise ValueError("each medication needs between 1 and 8 reminder times")
            _times_ok(times)
        return self

"""Questionnaires, assignments, responses and alerts.

A questionnaire is a FHIR R4 Questionnaire resource plus scoring rules, both stored as data.
Nothing here is deleted: an assignment is cancelled, a response once submitted never changes,
an alert is acknowledged (by whom, when) and stays.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime, new_id, utcnow


class Questionnaire(SQLModel, table=True):
    """`organization_id` is None for the instruments CareCircle ships (shared by every
    organization); an uploaded one belongs to its organization."""

    __table_args__ = (
        UniqueConstraint("organization_id", "key", "version"),
        # NULLs never collide in a unique constraint: shipped instruments need their own.
        Index(
            "uq_questionnaire_shipped",
            "key",
            "version",
            unique=True,
            sqlite_where=text("organization_id IS NULL"),
            postgresql_where=text("organization_id IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", index=True
    )
    key: str = Field(sa_type=String(60), index=True)
    version: str = Field(sa_type=String(40))
    title: str = Field(sa_type=String(200))
    description: str | None = Field(default=None, sa_type=Text)
    loinc_code: str | None = Field(default=None, sa_type=String(20))
    resource: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    scoring: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    shipped: bool = False
    active: bool = True
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AssessmentAssignment(SQLModel, table=True):
    __tablename__ = "assessment_assignment"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    questionnaire_id: uuid.UUID = Field(foreign_key="questionnaire.id", index=True)
    status: str = Field(default="pending", sa_type=String(16))
    reason: str = Field(default="manual", sa_type=String(16))
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    recurrence_days: int | None = None
    assigned_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    previous_id: uuid.UUID | None = Field(default=None, foreign_key="assessment_assignment.id")
    """The assignment this one repeats, or the response's assignment whose rule created it."""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")

    __table_args__ = (
        # The team's overdue list and the patient's Today both read open assignments by due date.
        Index(
            "ix_assessment_assignment_open",
            "patient_id",
            "due_at",
            sqlite_where=text("status IN ('pending', 'in_progress')"),
            postgresql_where=text("status IN ('pending', 'in_progress')"),
        ),
    )


class AssessmentResponse(SQLModel, table=True):
    """One per assignment: a draft while `in_progress`, final once `completed`. The score and
    its meaning are computed by the server at submission and stored with the rules' verdict."""

    __tablename__ = "assessment_response"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    assignment_id: uuid.UUID = Field(foreign_key="assessment_assignment.id", unique=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    questionnaire_id: uuid.UUID = Field(foreign_key="questionnaire.id", index=True)
    status: str = Field(default="in_progress", sa_type=String(16))
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """linkId -> list of values, as validated."""
    answered_by_id: uuid.UUID = Field(foreign_key="app_user.id")
    on_behalf: bool = False
    """A family member (proxy) answered for the patient."""
    access_basis: str = Field(sa_type=String(16))
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    score: int | None = None
    band_code: str | None = Field(default=None, sa_type=String(40))
    positive: bool | None = None
    critical: bool = False
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The scoring verdict: band label, drivers, findings."""


class AssessmentAlert(SQLModel, table=True):
    """An answer that signals danger, raised in the submission's transaction."""

    __tablename__ = "assessment_alert"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    response_id: uuid.UUID = Field(foreign_key="assessment_response.id", index=True)
    rule_id: str = Field(sa_type=String(60))
    reason: str = Field(sa_type=String(200))
    status: str = Field(default="open", sa_type=String(16), index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    note: str | None = Field(default=None, sa_type=Text)

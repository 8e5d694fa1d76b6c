"""A patient record exists before (and without) a login: staff create it, then invite."""

import uuid
from datetime import date, datetime

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime, new_id, utcnow


class Patient(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("organization_id", "mrn"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id", unique=True)
    mrn: str = Field(sa_type=String(40))
    given_name: str = Field(sa_type=String(100))
    family_name: str = Field(sa_type=String(100))
    birth_date: date
    sex: str | None = Field(default=None, sa_type=String(20))
    timezone: str = Field(default="America/New_York", sa_type=String(64))
    phone: str | None = Field(default=None, sa_type=String(40))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class PatientCondition(SQLModel, table=True):
    __tablename__ = "patient_condition"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    code: str | None = Field(default=None, sa_type=String(40))
    system: str | None = Field(default=None, sa_type=String(200))
    display: str = Field(sa_type=String(200))
    onset_date: date | None = None

"""Patients, their care teams, family proxy grants and emergency (break-glass) access."""

import uuid
from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from shared.enums import AccessBasis, GrantScope, Role, TeamRole


class ConditionPublic(BaseModel):
    code: str | None = Field(default=None, max_length=40)
    system: str | None = Field(default=None, max_length=200)
    display: str = Field(max_length=200)
    onset_date: date | None = None


class PatientSummary(BaseModel):
    id: uuid.UUID
    full_name: str
    birth_date: date
    mrn: str
    access: AccessBasis = Field(description="Why the caller may see this patient.")


class PatientDetail(PatientSummary):
    sex: str | None = None
    timezone: str
    phone: str | None = None
    has_account: bool
    conditions: list[ConditionPublic]
    emergency_access_expires_at: datetime | None = None


class PatientCreate(BaseModel):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: str | None = Field(default=None, max_length=20)
    mrn: str | None = Field(default=None, min_length=1, max_length=40)
    timezone: str = Field(default="America/New_York", max_length=64)
    phone: str | None = Field(default=None, max_length=40)
    conditions: list[ConditionPublic] = Field(default_factory=list, max_length=50)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "given_name": "Robert",
                    "family_name": "Johnson",
                    "birth_date": "1951-03-14",
                    "sex": "male",
                    "timezone": "America/New_York",
                    "conditions": [
                        {
                            "code": "44054006",
                            "system": "http://snomed.info/sct",
                            "display": "Type 2 diabetes mellitus",
                        }
                    ],
                }
            ]
        }
    }

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("Birth date cannot be in the future.")
        if value.year < 1900:
            raise ValueError("Birth date must be in 1900 or later; check the year.")
        return value


class CareTeamMemberPublic(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    full_name: str
    user_role: Role
    team_role: TeamRole
    start_at: datetime
    end_at: datetime | None


class CareTeamMemberCreate(BaseModel):
    user_id: uuid.UUID = Field(examples=["5f0c6a8e-2f55-4a8e-9d0e-3b1f7a4c9e21"])
    team_role: TeamRole = Field(examples=["navigator"])
    end_at: AwareDatetime | None = Field(default=None, examples=["2027-01-31T17:00:00Z"])


class ProxyGrantPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    grantee_id: uuid.UUID
    grantee_name: str
    relationship: str
    scopes: list[GrantScope]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    active: bool


class ProxyGrantUpdate(BaseModel):
    scopes: list[GrantScope] | None = Field(default=None, examples=[["messages", "care_plan"]])
    expires_at: AwareDatetime | None = Field(default=None, examples=["2027-06-30T00:00:00Z"])


class BreakGlassRequest(BaseModel):
    model_config = {"str_strip_whitespace": True}

    reason: str = Field(
        min_length=15,
        max_length=1000,
        description="Why the record must be opened now; kept in the audit trail.",
        examples=[
            "Patient arrived in the emergency department unresponsive; need medication list."
        ],
    )


class BreakGlassPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    user_id: uuid.UUID
    reason: str
    started_at: datetime
    expires_at: datetime

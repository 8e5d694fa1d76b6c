"""Sign-in, tokens, invitations and the signed-in person's profile."""

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, EmailStr, Field

from shared.enums import GrantScope, Role

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)

    model_config = {
        "json_schema_extra": {
            "examples": [{"email": "maria.lopez@riverside.example", "password": "correct horse"}]
        }
    }


class RefreshRequest(BaseModel):
    refresh_token: str = Field(
        min_length=20, max_length=200, examples=["q3JtY2Vzb2RlLXJlZnJlc2gtdG9rZW4tZXhhbXBsZQ"]
    )


class TokenPair(BaseModel):
    access_token: str = Field(examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIi..."])
    refresh_token: str = Field(examples=["q3JtY2Vzb2RlLXJlZnJlc2gtdG9rZW4tZXhhbXBsZQ"])
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.", examples=[900])
    refresh_expires_in: int = Field(
        description="Seconds until the refresh token expires.", examples=[1209600]
    )


class OrganizationPublic(BaseModel):
    id: uuid.UUID
    name: str


class ProxyPatient(BaseModel):
    """A patient whose care a family member may view, and what they were granted."""

    patient_id: uuid.UUID
    patient_name: str
    relationship: str
    scopes: list[GrantScope]
    expires_at: datetime | None = None


class Me(BaseModel):
    id: uuid.UUID
    email: EmailStr
    full_name: str
    role: Role
    organization: OrganizationPublic
    patient_id: uuid.UUID | None = Field(
        default=None, description="For a patient: their own patient record."
    )
    proxies: list[ProxyPatient] = Field(
        default_factory=list, description="For a family member: whose care they may view."
    )


class LoginResponse(TokenPair):
    user: Me


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)
    new_password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"current_password": "old garden path", "new_password": "river stone lantern"}
            ]
        }
    }


class InvitationCreate(BaseModel):
    """Staff invite staff or a patient (`patient_id` names the patient record); a patient, or
    staff on their behalf, invite a family member (`patient_id` plus `scopes`)."""

    email: EmailStr
    role: Role
    full_name: str = Field(min_length=1, max_length=200)
    patient_id: uuid.UUID | None = None
    relationship: str | None = Field(default=None, max_length=80)
    scopes: list[GrantScope] = Field(default_factory=list)
    grant_expires_at: AwareDatetime | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "email": "linda.johnson@example.com",
                    "role": "family",
                    "full_name": "Linda Johnson",
                    "relationship": "daughter",
                    "scopes": ["messages", "care_plan"],
                },
                {
                    "email": "new.navigator@clinic.example",
                    "role": "navigator",
                    "full_name": "Sam Lee",
                },
            ]
        }
    }


class InvitationPublic(BaseModel):
    id: uuid.UUID
    email: EmailStr
    role: Role
    full_name: str
    patient_id: uuid.UUID | None
    scopes: list[GrantScope]
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationPublic):
    token: str = Field(description="Shown once: deliver it to the invitee (the link in the email).")


class InvitationAccept(BaseModel):
    token: str = Field(min_length=20, max_length=200)
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
    full_name: str | None = Field(default=None, min_length=1, max_length=200)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "token": "c2VjcmV0LWludml0YXRpb24tdG9rZW4tZXhhbXBsZQ",
                    "password": "maple window harbor",
                    "full_name": "Linda Johnson",
                }
            ]
        }
    }


class UserPublic(BaseModel):
    id: uuid.UUID
    email: EmailStr
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime


class UnlockRequest(BaseModel):
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH, examples=["river stone"])


class UserActiveUpdate(BaseModel):
    is_active: bool = Field(examples=[False])

"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from backend.audit.models import AuditEntry
from backend.careteam.models import BreakGlassAccess, CareTeamMember, ProxyGrant
from backend.identity.models import (
    AuthSession,
    Invitation,
    LoginThrottle,
    Organization,
    RefreshToken,
    User,
)
from backend.notifications.models import Notification
from backend.patients.models import Patient, PatientCondition

__all__ = [
    "AuditEntry",
    "AuthSession",
    "BreakGlassAccess",
    "CareTeamMember",
    "Invitation",
    "LoginThrottle",
    "Notification",
    "Organization",
    "Patient",
    "PatientCondition",
    "ProxyGrant",
    "RefreshToken",
    "User",
]

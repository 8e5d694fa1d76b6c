"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from backend.assessments.models import (
    AssessmentAlert,
    AssessmentAssignment,
    AssessmentResponse,
    Questionnaire,
)
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
from backend.messaging.models import (
    Attachment,
    Conversation,
    ConversationMember,
    Message,
    MessageRevision,
)
from backend.notifications.models import (
    Notification,
    NotificationPreference,
    PushDevice,
    PushJob,
)
from backend.patients.models import Patient, PatientCondition

__all__ = [
    "AssessmentAlert",
    "AssessmentAssignment",
    "AssessmentResponse",
    "Attachment",
    "AuditEntry",
    "AuthSession",
    "BreakGlassAccess",
    "CareTeamMember",
    "Conversation",
    "ConversationMember",
    "Invitation",
    "LoginThrottle",
    "Message",
    "MessageRevision",
    "Notification",
    "NotificationPreference",
    "Organization",
    "Patient",
    "PatientCondition",
    "ProxyGrant",
    "PushDevice",
    "PushJob",
    "Questionnaire",
    "RefreshToken",
    "User",
]

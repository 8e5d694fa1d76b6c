"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from backend.assessments.models import (
    AssessmentAlert,
    AssessmentAssignment,
    AssessmentResponse,
    Questionnaire,
)
from backend.audit.models import AuditEntry
from backend.careplans.models import (
    CarePlan,
    CarePlanSeen,
    CarePlanVersion,
    Reminder,
    ReminderSetting,
    TodayMark,
)
from backend.careteam.models import BreakGlassAccess, CareTeamMember, ProxyGrant
from backend.education.models import Article, ArticleAssignment, ArticleRead
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
    "Article",
    "ArticleAssignment",
    "ArticleRead",
    "AssessmentAlert",
    "AssessmentAssignment",
    "AssessmentResponse",
    "Attachment",
    "AuditEntry",
    "AuthSession",
    "BreakGlassAccess",
    "CarePlan",
    "CarePlanSeen",
    "CarePlanVersion",
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
    "Reminder",
    "ReminderSetting",
    "TodayMark",
    "User",
]

"""Names shared by the backend and the client.

Values are stored in the database: never rename one.
"""

from enum import StrEnum


class Role(StrEnum):
    """What a person is in the organization; fixed per account."""

    patient = "patient"
    family = "family"
    navigator = "navigator"
    care_manager = "care_manager"
    clinician = "clinician"
    admin = "admin"


STAFF_ROLES: frozenset[Role] = frozenset({Role.navigator, Role.care_manager, Role.clinician})
"""Roles that work on patients' care teams."""

BREAK_GLASS_ROLES: frozenset[Role] = frozenset({Role.care_manager, Role.clinician})
"""Roles that may open a record they are not on the team for, with a written reason."""


class TeamRole(StrEnum):
    """The part someone plays on one patient's care team."""

    care_manager = "care_manager"
    navigator = "navigator"
    clinician = "clinician"
    social_worker = "social_worker"


class GrantScope(StrEnum):
    """What a patient lets a family member (proxy) see and do on their behalf."""

    messages = "messages"
    care_plan = "care_plan"
    assessments = "assessments"
    education = "education"
    appointments = "appointments"


class AccessBasis(StrEnum):
    """Why a person may open a patient's record; recorded on every audited access."""

    self = "self"
    care_team = "care_team"
    proxy = "proxy"
    emergency = "emergency"


class AuditOutcome(StrEnum):
    success = "success"
    denied = "denied"
    failure = "failure"


class NotificationCategory(StrEnum):
    messages = "messages"
    reminders = "reminders"
    assessments = "assessments"
    education = "education"
    alerts = "alerts"
    security = "security"


class ConversationKind(StrEnum):
    """care_team: one per patient, everyone on the team plus the patient and family with the
    messages grant; group: chosen members; direct: exactly two people."""

    care_team = "care_team"
    group = "group"
    direct = "direct"


class MessageKind(StrEnum):
    text = "text"
    system = "system"
    """Written by the server (a member joined, an urgent alert); never edited."""


class MessageState(StrEnum):
    active = "active"
    edited = "edited"
    retracted = "retracted"
    """Entered in error: the body is hidden from patients and family, kept for staff."""

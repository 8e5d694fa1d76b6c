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
    test = "test"
    """A test push the person asked for from their notification settings."""


OPTIONAL_CATEGORIES: tuple[NotificationCategory, ...] = (
    NotificationCategory.messages,
    NotificationCategory.reminders,
    NotificationCategory.assessments,
    NotificationCategory.education,
)
"""Categories a person may switch off for push. Alerts and security notices are always pushed;
every category stays in the in-app notification center."""


class DevicePlatform(StrEnum):
    ios = "ios"
    android = "android"
    web = "web"
    """A browser: no web push provider yet, so its person gets the in-app notification only."""


class PushStatus(StrEnum):
    """Where an outbox job is. `sending` is claimed by a dispatcher until its lease ends."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    skipped = "skipped"
    failed = "failed"


class PushOutcome(StrEnum):
    """Why a job ended the way it did (or why it is waiting)."""

    delivered = "delivered"
    no_devices = "no_devices"
    """Nobody to push to: the in-app notification is the delivery."""
    in_app_only = "in_app_only"
    """Only web devices (no web push yet): the in-app notification is the delivery."""
    no_provider = "no_provider"
    """The devices' platforms have no push credentials configured on this server."""
    category_off = "category_off"
    tokens_invalid = "tokens_invalid"
    """Every device's token was rejected as unregistered or invalid, and deactivated."""
    gave_up = "gave_up"
    retrying = "retrying"
    quiet_hours = "quiet_hours"


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


class QuestionnaireItemType(StrEnum):
    """The FHIR Questionnaire item types CareCircle renders, validates and scores."""

    group = "group"
    display = "display"
    boolean = "boolean"
    choice = "choice"
    open_choice = "open-choice"
    integer = "integer"
    decimal = "decimal"
    string = "string"
    text = "text"
    date = "date"


class AssignmentStatus(StrEnum):
    """Where a questionnaire sent to a patient is: `pending` until first saved, `in_progress`
    while a draft exists, `completed` once submitted (final), `cancelled` by the care team."""

    pending = "pending"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class AssignmentReason(StrEnum):
    """Why an assignment exists: sent by staff, the next round of a recurring one, or a
    follow-up rule of another instrument (a positive PHQ-2 assigns a PHQ-9)."""

    manual = "manual"
    recurrence = "recurrence"
    follow_up = "follow_up"


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"


class GoalStatus(StrEnum):
    """Where a care-plan goal stands (FHIR Goal achievementStatus, simplified)."""

    in_progress = "in_progress"
    improving = "improving"
    achieved = "achieved"
    not_achieved = "not_achieved"
    cancelled = "cancelled"


class ActivityKind(StrEnum):
    """What a care-plan activity asks of the patient."""

    medication = "medication"
    appointment = "appointment"
    check_in = "check_in"
    lifestyle = "lifestyle"
    education = "education"
    assessment = "assessment"


class LifestyleCategory(StrEnum):
    diet = "diet"
    exercise = "exercise"
    sleep = "sleep"
    other = "other"


class TodayItemStatus(StrEnum):
    """A to-do item on Today: `due` until marked; `done` or `skipped` (with a reason) once the
    patient or family member records it. Stored marks are the adherence record."""

    due = "due"
    done = "done"
    skipped = "skipped"


class ReminderStatus(StrEnum):
    """A scheduled reminder: `pending` until its instant, then `sent` once (claimed under a
    row lock), or `cancelled` when the plan no longer has its activity."""

    pending = "pending"
    sent = "sent"
    cancelled = "cancelled"


class ChangeAction(StrEnum):
    added = "added"
    removed = "removed"
    changed = "changed"


class ArticleAssignmentSource(StrEnum):
    manual = "manual"
    plan = "plan"

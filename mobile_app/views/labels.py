"""Words for the enums, as people in the clinic say them (never the raw enum values)."""

from shared.enums import GrantScope, Role, TeamRole

ROLE_LABELS: dict[Role, str] = {
    Role.patient: "Patient",
    Role.family: "Family member",
    Role.navigator: "Patient navigator",
    Role.care_manager: "Care manager",
    Role.clinician: "Clinician",
    Role.admin: "Administrator",
}

TEAM_ROLE_LABELS: dict[TeamRole, str] = {
    TeamRole.care_manager: "Care manager",
    TeamRole.navigator: "Patient navigator",
    TeamRole.clinician: "Clinician",
    TeamRole.social_worker: "Social worker",
}

SCOPE_LABELS: dict[GrantScope, str] = {
    GrantScope.messages: "Messages",
    GrantScope.care_plan: "Care plan",
    GrantScope.assessments: "Check-ins",
    GrantScope.education: "Learning",
    GrantScope.appointments: "Appointments",
}


def scopes_sentence(scopes: list[GrantScope] | frozenset[GrantScope]) -> str:
    ordered = [label for scope, label in SCOPE_LABELS.items() if scope in scopes]
    return ", ".join(ordered) if ordered else "Nothing yet"


def initials(full_name: str) -> str:
    """ "Dr. Samuel Okafor" -> "SO": titles (words ending in a dot) are skipped."""
    parts = [p for p in full_name.split() if p and not p.endswith(".")]
    if not parts:
        return "?"
    return (parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")).upper()


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def duration(seconds: float) -> str:
    """ "5 minutes", "1 minute", "30 seconds": for sentences about timeouts."""
    whole = round(seconds)
    if whole >= 60 and whole % 60 == 0:
        minutes = whole // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{whole} second{'s' if whole != 1 else ''}"

"""Each person's push choices: categories on or off, and quiet hours in their own time zone.

The rules the dispatcher applies (`push_decision`):
- a category switched off is not pushed (the in-app notification stays);
- alerts, security notices and test pushes cannot be switched off;
- in quiet hours a push waits until they end, unless it is an urgent care-team alert to a member
  of staff who lets urgent alerts through; reminders never come through quiet hours.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.core.errors import Unprocessable
from backend.core.types import utcnow
from backend.identity.models import User
from backend.identity.permissions import Principal
from backend.notifications.models import NotificationPreference
from backend.patients.models import Patient
from shared.enums import OPTIONAL_CATEGORIES, STAFF_ROLES, NotificationCategory, Role
from shared.schemas.notifications import (
    NotificationPreferencesPublic,
    NotificationPreferencesUpdate,
)

QUIET_OVERRIDE_CATEGORIES = frozenset({NotificationCategory.alerts, NotificationCategory.messages})
"""Urgent pushes of these categories may reach staff in quiet hours (never reminders)."""


# -- quiet hours (pure) -------------------------------------------------------------------------


def _local(now: datetime, zone: ZoneInfo) -> datetime:
    return now.astimezone(zone)


def quiet_hours_end(
    now: datetime, start: time | None, end: time | None, zone: ZoneInfo
) -> datetime | None:
    """When the current quiet period ends (UTC), or None if `now` is outside quiet hours.

    Quiet hours run from `start` up to (not including) `end` local time and may span midnight
    (22:00-07:00). Equal times or a missing one mean no quiet hours."""
    if start is None or end is None or start == end:
        return None
    local = _local(now, zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    day = local.date()
    candidate = datetime.combine(day, end, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(day + timedelta(days=1), end, tzinfo=zone)
    # A nonexistent local time (a DST gap) resolves forward through UTC conversion.
    return candidate.astimezone(UTC)


# -- reading and changing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EffectivePreferences:
    row: NotificationPreference
    zone: ZoneInfo
    zone_name: str
    is_staff: bool

    def category_on(self, category: str) -> bool:
        if category not in OPTIONAL_CATEGORIES:
            return True
        return bool(getattr(self.row, str(category)))

    def quiet_until(self, now: datetime) -> datetime | None:
        return quiet_hours_end(now, self.row.quiet_hours_start, self.row.quiet_hours_end, self.zone)


async def effective(
    session: AsyncSession, user: User, default_timezone: str
) -> EffectivePreferences:
    row = await session.get(NotificationPreference, user.id)
    if row is None:
        row = NotificationPreference(user_id=user.id)
    name = row.timezone
    if name is None and user.role == Role.patient:
        name = await session.scalar(select(Patient.timezone).where(Patient.user_id == user.id))
    name = name or default_timezone
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        name, zone = default_timezone, ZoneInfo(default_timezone)
    return EffectivePreferences(
        row=row, zone=zone, zone_name=name, is_staff=Role(user.role) in STAFF_ROLES
    )


def public(
    prefs: EffectivePreferences, now: datetime | None = None
) -> NotificationPreferencesPublic:
    row = prefs.row
    return NotificationPreferencesPublic(
        messages=row.messages,
        reminders=row.reminders,
        assessments=row.assessments,
        education=row.education,
        quiet_hours_start=row.quiet_hours_start,
        quiet_hours_end=row.quiet_hours_end,
        timezone=row.timezone,
        urgent_overrides_quiet_hours=row.urgent_overrides_quiet_hours,
        effective_timezone=prefs.zone_name,
        in_quiet_hours=prefs.quiet_until(now or utcnow()) is not None,
    )


async def update_preferences(
    session: AsyncSession,
    *,
    principal: Principal,
    data: NotificationPreferencesUpdate,
    default_timezone: str,
) -> EffectivePreferences:
    changes = data.model_dump(exclude_unset=True)
    if "timezone" in changes and changes["timezone"] is not None:
        try:
            ZoneInfo(changes["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise Unprocessable(
                f"Unknown time zone {changes['timezone']!r}; use a name like America/Chicago.",
                code="invalid_timezone",
                fields=[{"field": "body.timezone", "message": "Unknown time zone."}],
            ) from None
    if ("quiet_hours_start" in changes) != ("quiet_hours_end" in changes) or (
        (changes.get("quiet_hours_start") is None) != (changes.get("quiet_hours_end") is None)
    ):
        raise Unprocessable(
            "Set both the start and the end of quiet hours, or neither to turn them off.",
            code="quiet_hours_incomplete",
            fields=[{"field": "body.quiet_hours_end", "message": "Needs a matching start."}],
        )
    row = await session.get(NotificationPreference, principal.id)
    if row is None:
        row = NotificationPreference(user_id=principal.id)
        session.add(row)
    for name, value in changes.items():
        if value is None and name not in ("quiet_hours_start", "quiet_hours_end", "timezone"):
            continue
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    audit.record(
        session,
        action="notification_preferences.update",
        actor=principal,
        resource_type="notification_preference",
        resource_id=principal.id,
        detail={"fields": sorted(changes)},
    )
    return await effective(session, principal.user, default_timezone)


# -- the dispatcher's rule ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushDecision:
    send: bool
    defer_until: datetime | None = None
    reason: str | None = None


def push_decision(
    prefs: EffectivePreferences, *, category: str, urgent: bool, now: datetime
) -> PushDecision:
    if category == NotificationCategory.test:
        return PushDecision(send=True)
    if not prefs.category_on(category):
        return PushDecision(send=False, reason="category_off")
    until = prefs.quiet_until(now)
    if until is None:
        return PushDecision(send=True)
    overrides = (
        urgent
        and prefs.is_staff
        and prefs.row.urgent_overrides_quiet_hours
        and category in QUIET_OVERRIDE_CATEGORIES
    )
    if overrides:
        return PushDecision(send=True)
    return PushDecision(send=False, defer_until=until, reason="quiet_hours")

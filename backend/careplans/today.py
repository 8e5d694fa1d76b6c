"""Today's to-do list: pure functions of (plan, local date, time zone).

Times of day in a plan are wall-clock times where the patient lives. A day is the patient's
local calendar day, 23 or 25 hours long across a daylight-saving change. A dose time that does
not exist that day (02:30 when clocks spring forward) is taken at the same distance past the
gap (03:30); one that happens twice (01:30 when clocks fall back) is the first of the two.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.enums import ActivityKind, TodayItemStatus
from shared.schemas.careplans import (
    AppointmentActivity,
    AssessmentActivity,
    CarePlanContent,
    EducationActivity,
    MedicationActivity,
    TaskActivity,
    TodayItem,
)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `zone` (see the module note on gaps)."""
    naive = datetime.combine(day, at)
    # fold=0: the first of two repeated times; a time in a gap converts with the offset in
    # force before the gap, which lands the same distance after it.
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_date_of(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day in UTC."""
    return local_instant(day, time(0), zone), local_instant(day + timedelta(days=1), time(0), zone)


def _in_period(day: date, start: date, end: date | None) -> bool:
    return start <= day and (end is None or day <= end)


def item_key(activity_id: str, day: date, at: time | None = None) -> str:
    return f"{activity_id}:{day.isoformat()}" + (f":{at.strftime('%H:%M')}" if at else "")


def _timed(
    activity_id: str, kind: str, title: str, detail: str | None, day: date, times, zone, link=None
) -> list[TodayItem]:
    if not times:
        return [
            TodayItem(
                key=item_key(activity_id, day),
                activity_id=activity_id,
                kind=kind,
                title=title,
                detail=detail,
                link=link,
            )
        ]
    items = []
    for at in times:
        due = local_instant(day, at, zone)
        items.append(
            TodayItem(
                key=item_key(activity_id, day, at),
                activity_id=activity_id,
                kind=kind,
                title=title,
                detail=detail,
                due_at=due,
                local_time=due.astimezone(zone).strftime("%H:%M"),
                link=link,
            )
        )
    return items


def derive_today(content: CarePlanContent, day: date, zone: ZoneInfo) -> list[TodayItem]:
    """Everything the plan asks for on `day`, in time order (untimed items last)."""
    items: list[TodayItem] = []
    for activity in content.activities:
        assert activity.id is not None, "stored plans give every activity an id"
        if isinstance(activity, MedicationActivity):
            if _in_period(day, activity.start_date, activity.end_date):
                title = f"Take {activity.drug}"
                detail = activity.dose + (
                    f" · {activity.instructions}" if activity.instructions else ""
                )
                items += _timed(
                    activity.id, ActivityKind.medication, title, detail, day, activity.times, zone
                )
        elif isinstance(activity, AppointmentActivity):
            if local_date_of(activity.starts_at, zone) == day:
                starts = activity.starts_at.astimezone(UTC)
                where = ", ".join(x for x in (activity.with_whom, activity.location) if x)
                items.append(
                    TodayItem(
                        key=item_key(activity.id, day),
                        activity_id=activity.id,
                        kind=ActivityKind.appointment,
                        title=activity.title,
                        detail=where or activity.preparation,
                        due_at=starts,
                        local_time=starts.astimezone(zone).strftime("%H:%M"),
                    )
                )
        elif isinstance(activity, TaskActivity):
            weekday_ok = not activity.weekdays or day.isoweekday() in activity.weekdays
            if weekday_ok and _in_period(day, activity.start_date, activity.end_date):
                items += _timed(
                    activity.id,
                    activity.kind,
                    activity.title,
                    activity.instructions,
                    day,
                    activity.times,
                    zone,
                )
        elif isinstance(activity, EducationActivity):
            last = activity.due_date or activity.start_date + timedelta(days=6)
            if _in_period(day, activity.start_date, last):
                items += _timed(
                    activity.id,
                    ActivityKind.education,
                    f"Read: {activity.title or activity.article_slug}",
                    None,
                    day,
                    [],
                    zone,
                    link=f"/learn/{activity.article_slug}",
                )
        elif isinstance(activity, AssessmentActivity):
            on_cycle = (day - activity.start_date).days % activity.every_days == 0
            if on_cycle and _in_period(day, activity.start_date, activity.end_date):
                items += _timed(
                    activity.id,
                    ActivityKind.assessment,
                    activity.title,
                    "A short questionnaire from your care team.",
                    day,
                    [],
                    zone,
                )
    far = datetime.max.replace(tzinfo=UTC)
    items.sort(key=lambda i: (i.due_at or far, i.title))
    return items


def apply_marks(
    items: list[TodayItem], marks: dict[str, tuple[str, str | None]], now: datetime
) -> list[TodayItem]:
    """Copy recorded marks onto the items and flag what is overdue (due, unmarked, past)."""
    for item in items:
        mark = marks.get(item.key)
        if mark is not None:
            item.status, item.reason = TodayItemStatus(mark[0]), mark[1]
        item.overdue = (
            item.status is TodayItemStatus.due and item.due_at is not None and item.due_at < now
        )
    return items

"""Adherence over the last N local days: of what the plan asked for and was due by now, how
much was marked done, skipped, or left (missed). Each day is judged against the plan as it was
at the end of that day, not as it is now."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.careplans.today import day_bounds, derive_today
from shared.enums import ActivityKind
from shared.schemas.careplans import AdherenceLine, CarePlanContent, MedicationActivity


@dataclass
class _Tally:
    label: str
    expected: int = 0
    done: int = 0
    skipped: int = 0
    missed: int = 0
    kind: str = ""
    keys: list[str] = field(default_factory=list)

    def line(self, activity_id: str | None) -> AdherenceLine:
        rate = round(self.done / self.expected, 3) if self.expected else None
        return AdherenceLine(
            activity_id=activity_id,
            label=self.label,
            expected=self.expected,
            done=self.done,
            skipped=self.skipped,
            missed=self.missed,
            rate=rate,
        )


def compute(
    *,
    plan_on: Callable[[date], CarePlanContent | None],
    marks: dict[str, str],
    today: date,
    days: int,
    zone: ZoneInfo,
    now: datetime,
) -> tuple[AdherenceLine, list[AdherenceLine], list[AdherenceLine]]:
    """(overall, per medication, per other activity). `plan_on(day)` is the plan in force at
    the end of that day; `marks` maps item keys to `done`/`skipped`. Items not yet due (later
    today) do not count; an item without a time counts once its day is over."""
    overall = _Tally("All activities")
    per: dict[str, _Tally] = {}
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        content = plan_on(day)
        if content is None:
            continue
        labels = {a.id: _label(a) for a in content.activities}
        end_of_day = day_bounds(day, zone)[1]
        for item in derive_today(content, day, zone):
            if item.kind == ActivityKind.appointment:
                continue  # attendance is not recorded here
            due = item.due_at or end_of_day
            if due > now:
                continue
            tally = per.setdefault(
                item.activity_id, _Tally(labels[item.activity_id], kind=item.kind)
            )
            status = marks.get(item.key)
            for t in (overall, tally):
                t.expected += 1
                if status == "done":
                    t.done += 1
                elif status == "skipped":
                    t.skipped += 1
                else:
                    t.missed += 1
    medications = [t.line(a) for a, t in per.items() if t.kind == ActivityKind.medication]
    other = [t.line(a) for a, t in per.items() if t.kind != ActivityKind.medication]
    return overall.line(None), medications, other


def _label(activity) -> str:
    if isinstance(activity, MedicationActivity):
        return f"{activity.drug} {activity.dose}"
    return getattr(activity, "title", None) or getattr(activity, "article_slug", "")

"""Plan templates for common conditions, shipped as JSON files beside this module.

A template's dates are relative (`due_in_days`, an appointment's `in_days` and `at`); applying
it to a patient turns them into real dates in the patient's time zone, and the care manager
edits the result like any plan."""

import json
from datetime import date, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from backend.careplans.today import local_instant
from shared.schemas.careplans import CarePlanContent, TemplateSummary

DIRECTORY = Path(__file__).parent / "templates"


@cache
def templates() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(DIRECTORY.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["key"]] = data
    return found


def summaries() -> list[TemplateSummary]:
    return [
        TemplateSummary(
            key=t["key"],
            title=t["title"],
            condition=t["condition"],
            goals=len(t["content"]["goals"]),
            activities=len(t["content"]["activities"]),
        )
        for t in templates().values()
    ]


def materialize(key: str, *, start: date, zone: ZoneInfo) -> CarePlanContent:
    """The template as a plan starting on `start` (KeyError for an unknown key)."""
    raw = json.loads(json.dumps(templates()[key]["content"]))
    for goal in raw["goals"]:
        days = goal.pop("due_in_days", None)
        goal["due_date"] = (start + timedelta(days=days)).isoformat() if days else None
    for activity in raw["activities"]:
        kind = activity["kind"]
        if kind == "appointment":
            day = start + timedelta(days=activity.pop("in_days"))
            hour, minute = (int(x) for x in activity.pop("at").split(":"))
            activity["starts_at"] = local_instant(day, time(hour, minute), zone).isoformat()
        elif kind == "education":
            days = activity.pop("due_in_days", None)
            activity["start_date"] = start.isoformat()
            activity["due_date"] = (start + timedelta(days=days)).isoformat() if days else None
        else:
            activity["start_date"] = start.isoformat()
    return CarePlanContent.model_validate(raw)

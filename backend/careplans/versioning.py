"""What changed between two versions of a plan, in words a patient can read.

Goals and activities are matched by their stable ids; conditions by their name. The result
names each entry added, removed or changed and which of its fields changed."""

from typing import Any

from shared.enums import ChangeAction
from shared.schemas.careplans import CarePlanContent, Change


def label_of(entry: Any) -> str:
    kind = getattr(entry, "kind", None)
    if kind == "medication":
        return f"{entry.drug} {entry.dose}"
    if kind == "education":
        return f"Reading: {entry.title or entry.article_slug}"
    return entry.title


def _fields(old: Any, new: Any) -> list[str]:
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _by_id(section: str, old: list, new: list) -> list[Change]:
    changes: list[Change] = []
    before = {e.id: e for e in old}
    after = {e.id: e for e in new}
    for entry in new:
        if entry.id not in before:
            changes.append(
                Change(
                    section=section,
                    action=ChangeAction.added,
                    item_id=entry.id,
                    label=label_of(entry),
                )
            )
        else:
            fields = _fields(before[entry.id], entry)
            if fields:
                changes.append(
                    Change(
                        section=section,
                        action=ChangeAction.changed,
                        item_id=entry.id,
                        label=label_of(entry),
                        fields=fields,
                    )
                )
    for entry in old:
        if entry.id not in after:
            changes.append(
                Change(
                    section=section,
                    action=ChangeAction.removed,
                    item_id=entry.id,
                    label=label_of(entry),
                )
            )
    return changes


def diff(old: CarePlanContent | None, new: CarePlanContent) -> list[Change]:
    if old is None:
        return [Change(section="plan", action=ChangeAction.added, label=new.title)]
    changes: list[Change] = []
    plan_fields = [f for f in ("title", "summary") if getattr(old, f) != getattr(new, f)]
    if plan_fields:
        changes.append(
            Change(section="plan", action=ChangeAction.changed, label=new.title, fields=plan_fields)
        )
    before = {c.display for c in old.conditions}
    after = {c.display for c in new.conditions}
    changes += [
        Change(section="conditions", action=ChangeAction.added, label=name)
        for name in sorted(after - before)
    ]
    changes += [
        Change(section="conditions", action=ChangeAction.removed, label=name)
        for name in sorted(before - after)
    ]
    changes += _by_id("goals", old.goals, new.goals)
    changes += _by_id("activities", old.activities, new.activities)
    return changes

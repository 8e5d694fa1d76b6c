"""Checking answers against a questionnaire's definition.

Wrong types, values out of range, unknown items, several values for an item that does not
repeat, and (on submission) missing required answers are refused with 422, naming every item
concerned. Answers to items that the other answers disable (enableWhen) are *dropped*, not
refused: a person who changes an earlier answer should not be stopped by a follow-up question
that no longer applies. The caller is told which were dropped.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.assessments.definition import DATE, Definition, Item
from backend.assessments.enable_when import enabled_items
from backend.core.errors import Unprocessable
from shared.schemas.assessments import MAX_TEXT_ANSWER, Answer


@dataclass(frozen=True, slots=True)
class Checked:
    answers: dict[str, list[Any]]
    """linkId -> values, only for enabled items, in document order."""
    dropped: list[str]


def _name(item: Item) -> str:
    text = item.text if len(item.text) <= 60 else item.text[:57] + "..."
    return f"item {item.link_id!r} ({text})" if text else f"item {item.link_id!r}"


def _check_value(item: Item, value: Any) -> tuple[Any, str | None]:
    """The value as stored, or a reason it is wrong."""
    kind = item.type
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                return None, "must be a whole number"
        return _in_range(item, value)
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "must be a number"
        return _in_range(item, float(value))
    if kind == "date":
        if not isinstance(value, str) or not DATE.match(value):
            return None, "must be a date written YYYY-MM-DD"
        try:
            date.fromisoformat(value)
        except ValueError:
            return None, "is not a real calendar date"
        return _in_range(item, value)
    if kind == "choice":
        if not isinstance(value, str) or item.option(value) is None:
            codes = ", ".join(o.code for o in item.options[:10])
            return None, f"must be one of its options ({codes})"
        return value, None
    if kind in ("string", "text", "open-choice"):
        if not isinstance(value, str):
            return None, "must be text"
        if kind == "open-choice" and item.option(value) is not None:
            return value, None
        value = value.strip()
        if not value:
            return None, "is empty"
        limit = item.max_length or MAX_TEXT_ANSWER
        if len(value) > limit:
            return None, f"is longer than {limit} characters"
        if item.min_length is not None and len(value) < item.min_length:
            return None, f"is shorter than {item.min_length} characters"
        if "\x00" in value:
            return None, "contains a character that is not allowed"
        return value, None
    return None, f"is a {kind} item and takes no answer"


def _in_range(item: Item, value: Any) -> tuple[Any, str | None]:
    if item.min_value is not None and value < item.min_value:
        return None, f"must be at least {item.min_value}"
    if item.max_value is not None and value > item.max_value:
        return None, f"must be at most {item.max_value}"
    return value, None


def check_answers(definition: Definition, answers: list[Answer], *, final: bool) -> Checked:
    """Validate `answers`; `final` also requires every enabled required item."""
    problems: list[dict[str, str]] = []

    def refuse(link_id: str, message: str) -> None:
        problems.append({"field": f"answers.{link_id}", "message": message})

    given: dict[str, list[Any]] = {}
    for answer in answers:
        item = definition.items.get(answer.link_id)
        if item is None:
            refuse(answer.link_id, f"There is no item {answer.link_id!r} in this questionnaire.")
            continue
        if answer.link_id in given:
            refuse(answer.link_id, f"{_name(item)} is answered twice; send it once.")
            continue
        if not item.answerable:
            refuse(answer.link_id, f"{_name(item)} is a {item.type} and takes no answer.")
            continue
        if len(answer.values) > 1 and not item.repeats:
            refuse(answer.link_id, f"{_name(item)} takes one answer, not {len(answer.values)}.")
            continue
        values = []
        for value in answer.values:
            stored, reason = _check_value(item, value)
            if reason is not None:
                refuse(answer.link_id, f"{_name(item)}: the answer {value!r} {reason}.")
                break
            if stored not in values:
                values.append(stored)
        given[answer.link_id] = values
    if problems:
        _raise(problems)

    present = {link_id: values for link_id, values in given.items() if values}
    enabled = enabled_items(definition, present)
    kept = {
        link_id: present[link_id]
        for link_id in definition.items
        if link_id in present and link_id in enabled
    }
    dropped = [link_id for link_id in present if link_id not in enabled]
    if final:
        for item in definition.items.values():
            if not item.required or item.link_id not in enabled:
                continue
            if item.answerable and item.link_id not in kept:
                refuse(item.link_id, f"{_name(item)} is required.")
            elif item.type == "group" and not _group_answered(definition, item, kept):
                refuse(item.link_id, f"{_name(item)} needs at least one answer.")
        if problems:
            _raise(problems)
    return Checked(answers=kept, dropped=dropped)


def _group_answered(definition: Definition, group: Item, answers: dict[str, list[Any]]) -> bool:
    pending = list(group.children)
    for _ in range(len(definition.items)):
        if not pending:
            break
        link_id = pending.pop()
        if link_id in answers:
            return True
        pending.extend(definition.items[link_id].children)
    return False


def _raise(problems: list[dict[str, str]]) -> None:
    first = problems[0]["message"]
    more = f" ({len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    raise Unprocessable(
        first + (more if len(problems) > 1 else ""), code="invalid_answers", fields=problems
    )

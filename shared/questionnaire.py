"""What the server and the client both need to know about a Questionnaire's logic: which items
the answers enable (FHIR enableWhen, enableBehavior any/all). One implementation, so the form
on a phone hides and shows exactly what the server will accept.

Rules:
- an item inside a disabled group (or under an unanswered or disabled question) is disabled;
- `exists` with true holds when the question has an enabled answer, with false when it has none;
- every other operator holds when the question has an enabled answer that compares true
  (`!=`: an answer exists and none equals); an unanswered question satisfies nothing but
  `exists false`;
- answers to a disabled question count as absent for the conditions of others.

`read_form` turns a Questionnaire the server has already validated into `FormItem`s for
rendering; the server's own reader (`backend.assessments.definition`) validates as it reads.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

QUESTION_TYPES = frozenset(
    {"boolean", "choice", "open-choice", "integer", "decimal", "string", "text", "date"}
)
ORDINAL_URLS = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
    "http://hl7.org/fhir/StructureDefinition/questionnaire-ordinalValue",
)
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"


class _Condition(Protocol):
    question: str
    operator: str
    answer: Any


class _Item(Protocol):
    parent: str | None
    enable_behavior: str

    @property
    def answerable(self) -> bool: ...

    @property
    def enable_when(self) -> Any: ...


class _Definition(Protocol):
    @property
    def items(self) -> Mapping[str, Any]: ...


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def compare(operator: str, actual: Any, expected: Any) -> bool:
    """One answer against one expected value; values of different kinds never match."""
    pair = _comparable(actual, expected)
    if pair is None:
        return operator == "!="
    a, b = pair
    if operator == "=":
        return a == b
    if operator == "!=":
        return a != b
    if isinstance(a, bool):
        return False  # booleans have no order
    if operator == ">":
        return a > b
    if operator == "<":
        return a < b
    if operator == ">=":
        return a >= b
    if operator == "<=":
        return a <= b
    raise ValueError(f"unknown operator {operator!r}")


def condition_holds(condition: _Condition, answers: list[Any]) -> bool:
    if condition.operator == "exists":
        return bool(answers) == bool(condition.answer)
    if not answers:
        return False
    if condition.operator == "!=":
        return all(compare("!=", value, condition.answer) for value in answers)
    return any(compare(condition.operator, value, condition.answer) for value in answers)


def enabled_items(definition: _Definition, answers: Mapping[str, list[Any]]) -> set[str]:
    """The linkIds enabled by `answers` (linkId -> values). Conditions may point at later
    items, so this settles to a fixed point; it cannot take more rounds than there are items."""
    items = definition.items
    enabled = set(items)
    for _ in range(len(items) + 1):
        now: set[str] = set()
        for link_id, item in items.items():  # document order: parents before children
            if item.parent is not None:
                parent = items[item.parent]
                if item.parent not in now:
                    continue
                if parent.answerable and not answers.get(parent.link_id):
                    continue
            if item.enable_when:
                results = [
                    condition_holds(
                        c, list(answers.get(c.question) or []) if c.question in enabled else []
                    )
                    for c in item.enable_when
                ]
                if not (any(results) if item.enable_behavior == "any" else all(results)):
                    continue
            now.add(link_id)
        if now == enabled:
            return enabled
        enabled = now
    return enabled


# -- reading a validated questionnaire for a form ---------------------------------------------


@dataclass(frozen=True, slots=True)
class FormOption:
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class FormCondition:
    question: str
    operator: str
    answer: Any


@dataclass(slots=True)
class FormItem:
    link_id: str
    type: str
    text: str
    required: bool = False
    repeats: bool = False
    options: list[FormOption] = field(default_factory=list)
    enable_when: list[FormCondition] = field(default_factory=list)
    enable_behavior: str = "all"
    min_value: float | str | None = None
    max_value: float | str | None = None
    max_length: int | None = None
    parent: str | None = None
    section: str | None = None
    """The nearest enclosing group's text, or the questionnaire's opening instructions."""

    @property
    def answerable(self) -> bool:
        return self.type in QUESTION_TYPES


@dataclass(slots=True)
class Form:
    title: str
    items: dict[str, FormItem]

    def questions(self) -> list[FormItem]:
        return [item for item in self.items.values() if item.answerable]


def _extension(node: dict[str, Any], url: str) -> Any:
    for extension in node.get("extension") or []:
        if extension.get("url") == url:
            for key, value in extension.items():
                if key.startswith("value"):
                    return value
    return None


def _read_option(raw: dict[str, Any]) -> FormOption:
    if "valueCoding" in raw:
        coding = raw["valueCoding"]
        return FormOption(str(coding.get("code")), coding.get("display") or str(coding.get("code")))
    value = next((v for k, v in raw.items() if k.startswith("value")), "")
    return FormOption(str(value), str(value))


def _read_condition(raw: dict[str, Any]) -> FormCondition:
    answer = next((v for k, v in raw.items() if k.startswith("answer")), None)
    if isinstance(answer, dict):
        answer = answer.get("code")
    return FormCondition(str(raw.get("question")), str(raw.get("operator")), answer)


def read_form(resource: dict[str, Any]) -> Form:
    items: dict[str, FormItem] = {}
    intro = next(
        (i.get("text") for i in resource.get("item") or [] if i.get("type") == "display"), None
    )

    def walk(raw_items: list[dict[str, Any]], parent: FormItem | None, depth: int) -> None:
        if depth > 8:
            return
        for raw in raw_items:
            item = FormItem(
                link_id=str(raw.get("linkId")),
                type=str(raw.get("type")),
                text=str(raw.get("text") or ""),
                required=bool(raw.get("required", False)),
                repeats=bool(raw.get("repeats", False)),
                options=[_read_option(o) for o in raw.get("answerOption") or []],
                enable_when=[_read_condition(c) for c in raw.get("enableWhen") or []],
                enable_behavior=str(raw.get("enableBehavior") or "all"),
                min_value=_extension(raw, MIN_VALUE_URL),
                max_value=_extension(raw, MAX_VALUE_URL),
                max_length=raw.get("maxLength"),
                parent=parent.link_id if parent else None,
                section=(parent.section if parent and parent.type != "group" else None)
                or (parent.text if parent and parent.type == "group" else intro),
            )
            items[item.link_id] = item
            walk(raw.get("item") or [], item, depth + 1)

    walk(resource.get("item") or [], None, 1)
    return Form(
        title=str(resource.get("title") or resource.get("name") or "Questionnaire"), items=items
    )

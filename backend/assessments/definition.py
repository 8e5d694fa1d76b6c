"""Reading a FHIR R4 Questionnaire into what validation, enableWhen and scoring work with.

The resource is first validated by `fhir.resources` (its R4B model: R4B changed nothing in
Questionnaire), then checked for what CareCircle supports. Every problem is reported with the
item it concerns, all at once, so an author can fix a definition in one pass.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from pydantic import ValidationError

from shared.enums import QuestionnaireItemType

ORDINAL_URLS = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
    "http://hl7.org/fhir/StructureDefinition/questionnaire-ordinalValue",
)
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"
MIN_LENGTH_URL = "http://hl7.org/fhir/StructureDefinition/minLength"
SUPPORTED = frozenset(t.value for t in QuestionnaireItemType)
QUESTION_TYPES = SUPPORTED - {"group", "display"}
OPERATORS = frozenset({"exists", "=", "!=", ">", "<", ">=", "<="})
ORDERED_TYPES = frozenset({"integer", "decimal", "date", "string", "text"})
ANSWER_FIELDS = {
    "answerBoolean": "boolean",
    "answerDecimal": "decimal",
    "answerInteger": "integer",
    "answerDate": "date",
    "answerString": "string",
    "answerCoding": "coding",
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_ITEMS = 400
MAX_DEPTH = 6


class DefinitionError(Exception):
    """A questionnaire CareCircle cannot use; `problems` are (where, what) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems[:5]))


@dataclass(frozen=True, slots=True)
class Option:
    code: str
    display: str
    ordinal: float | None = None
    system: str | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    question: str
    operator: str
    answer: Any
    """A bool, number, "YYYY-MM-DD", text, or for a Coding its code."""


@dataclass(slots=True)
class Item:
    link_id: str
    type: str
    text: str
    required: bool = False
    repeats: bool = False
    options: list[Option] = field(default_factory=list)
    enable_when: list[Condition] = field(default_factory=list)
    enable_behavior: str = "all"
    min_value: float | str | None = None
    max_value: float | str | None = None
    min_length: int | None = None
    max_length: int | None = None
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    codes: list[dict[str, Any]] = field(default_factory=list)
    prefix: str | None = None

    @property
    def answerable(self) -> bool:
        return self.type in QUESTION_TYPES

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(slots=True)
class Definition:
    url: str | None
    version: str | None
    title: str
    items: dict[str, Item]
    """Every item by linkId, in document order (depth first)."""

    def questions(self) -> list[Item]:
        return [item for item in self.items.values() if item.answerable]


def _extension_value(node: dict[str, Any], urls: tuple[str, ...]) -> Any:
    for extension in node.get("extension") or []:
        if extension.get("url") in urls:
            for key, value in extension.items():
                if key.startswith("value"):
                    return value
    return None


def _option(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Option | None:
    ordinal = _extension_value(raw, ORDINAL_URLS)
    if ordinal is None and "valueCoding" in raw:
        ordinal = _extension_value(raw["valueCoding"], ORDINAL_URLS)
    if ordinal is not None and (isinstance(ordinal, bool) or not isinstance(ordinal, int | float)):
        problems.append((where, "an ordinal value must be a number"))
        ordinal = None
    if "valueCoding" in raw:
        coding = raw["valueCoding"]
        code = coding.get("code")
        if not code:
            problems.append((where, "an answer option's Coding needs a code"))
            return None
        return Option(str(code), coding.get("display") or str(code), ordinal, coding.get("system"))
    for key in ("valueString", "valueInteger", "valueDate"):
        if key in raw:
            return Option(str(raw[key]), str(raw[key]), ordinal)
    problems.append(
        (where, "answer options must be valueCoding, valueString, valueInteger or valueDate")
    )
    return None


def _condition(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Condition:
    operator = raw.get("operator")
    if operator not in OPERATORS:
        problems.append(
            (where, f"enableWhen operator {operator!r} is not one of {sorted(OPERATORS)}")
        )
    answers = [(k, v) for k, v in raw.items() if k.startswith("answer")]
    if len(answers) != 1:
        problems.append((where, "enableWhen needs exactly one answer[x]"))
        return Condition(str(raw.get("question")), str(operator), None)
    key, value = answers[0]
    if key not in ANSWER_FIELDS:
        problems.append((where, f"enableWhen {key} is not supported"))
    if key == "answerCoding":
        value = value.get("code")
    return Condition(str(raw.get("question")), str(operator), value)


def _limits(raw: dict[str, Any], item: Item, where: str, problems: list[tuple[str, str]]) -> None:
    for url, attr in ((MIN_VALUE_URL, "min_value"), (MAX_VALUE_URL, "max_value")):
        value = _extension_value(raw, (url,))
        if value is None:
            continue
        if (item.type in ("integer", "decimal") and isinstance(value, int | float)) or (
            item.type == "date" and isinstance(value, str) and DATE.match(value)
        ):
            setattr(item, attr, value)
        else:
            problems.append((where, f"{attr.replace('_', ' ')} does not fit a {item.type} item"))
    min_length = _extension_value(raw, (MIN_LENGTH_URL,))
    if min_length is not None:
        item.min_length = int(min_length)
    if raw.get("maxLength") is not None:
        item.max_length = int(raw["maxLength"])
    if (item.min_length is not None or item.max_length is not None) and item.type not in (
        "string",
        "text",
        "open-choice",
    ):
        problems.append((where, "minLength/maxLength apply to string, text and open-choice only"))


def _walk(
    raw_items: list[dict[str, Any]],
    parent: Item | None,
    depth: int,
    items: dict[str, Item],
    problems: list[tuple[str, str]],
) -> None:
    if depth > MAX_DEPTH:
        problems.append((parent.link_id if parent else "item", f"nested deeper than {MAX_DEPTH}"))
        return
    for raw in raw_items:
        link_id = str(raw.get("linkId") or "")
        where = f"item {link_id!r}"
        kind = raw.get("type")
        if link_id in items:
            problems.append((where, "linkId is used twice; every item needs its own"))
            continue
        if kind not in SUPPORTED:
            problems.append(
                (
                    where,
                    f"type {kind!r} is not supported; CareCircle supports "
                    + ", ".join(sorted(SUPPORTED)),
                )
            )
            continue
        item = Item(
            link_id=link_id,
            type=kind,
            text=str(raw.get("text") or ""),
            required=bool(raw.get("required", False)),
            repeats=bool(raw.get("repeats", False)),
            enable_behavior=str(raw.get("enableBehavior") or "all"),
            parent=parent.link_id if parent else None,
            codes=list(raw.get("code") or []),
            prefix=raw.get("prefix"),
        )
        if kind != "display" and not item.text:
            problems.append((where, "needs text to show the person answering"))
        if raw.get("answerValueSet"):
            problems.append((where, "answerValueSet is not supported; list answerOption instead"))
        if kind in ("choice", "open-choice"):
            for index, option in enumerate(raw.get("answerOption") or []):
                parsed = _option(option, f"{where} answerOption {index + 1}", problems)
                if parsed is not None:
                    item.options.append(parsed)
            if kind == "choice" and not item.options:
                problems.append((where, "a choice item needs answerOption"))
            codes = [o.code for o in item.options]
            if len(set(codes)) != len(codes):
                problems.append((where, "answer option codes repeat within the item"))
        elif raw.get("answerOption"):
            problems.append((where, f"answerOption does not apply to a {kind} item"))
        if kind in ("group", "display") and (raw.get("required") or raw.get("repeats")):
            if kind == "display":
                problems.append((where, "a display item cannot be required or repeat"))
            elif raw.get("repeats"):
                problems.append((where, "repeating groups are not supported"))
        item.enable_when = [
            _condition(c, f"{where} enableWhen", problems) for c in raw.get("enableWhen") or []
        ]
        if item.enable_behavior not in ("all", "any"):
            problems.append((where, "enableBehavior must be 'all' or 'any'"))
        if len(item.enable_when) > 1 and "enableBehavior" not in raw:
            problems.append((where, "enableBehavior is required with more than one enableWhen"))
        _limits(raw, item, where, problems)
        items[link_id] = item
        if parent is not None:
            parent.children.append(link_id)
        children = raw.get("item") or []
        if children and kind == "display":
            problems.append((where, "a display item cannot contain items"))
        _walk(children, item, depth + 1, items, problems)
        if kind == "group" and not item.children:
            problems.append((where, "a group needs at least one item"))


def _check_conditions(items: dict[str, Item], problems: list[tuple[str, str]]) -> None:
    for item in items.values():
        for condition in item.enable_when:
            where = f"item {item.link_id!r} enableWhen"
            target = items.get(condition.question)
            if target is None or not target.answerable:
                problems.append(
                    (where, f"refers to {condition.question!r}, which is not a question here")
                )
                continue
            if condition.question == item.link_id:
                problems.append((where, "an item cannot depend on itself"))
            if condition.operator == "exists":
                if not isinstance(condition.answer, bool):
                    problems.append((where, "'exists' takes answerBoolean"))
            elif condition.operator in (">", "<", ">=", "<=") and target.type not in (
                ORDERED_TYPES | {"choice", "open-choice"}
            ):
                problems.append(
                    (where, f"{condition.operator!r} cannot compare a {target.type} answer")
                )


def parse(resource: Any) -> Definition:
    """Validate and read a Questionnaire; raises `DefinitionError` naming every problem."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        raise DefinitionError([("resourceType", "must be 'Questionnaire'")])
    try:
        FhirQuestionnaire.model_validate(resource)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:20]:
            location = ".".join(str(part) for part in error.get("loc", ())) or "resource"
            problems.append((location, str(error.get("msg", "invalid"))))
        raise DefinitionError(problems) from None
    problems: list[tuple[str, str]] = []
    if resource.get("status") not in ("draft", "active", "retired", "unknown"):
        problems.append(("status", "must be draft, active, retired or unknown"))
    elif resource.get("status") == "retired":
        problems.append(("status", "a retired questionnaire cannot be used"))
    items: dict[str, Item] = {}
    raw_items = resource.get("item") or []
    if not raw_items:
        problems.append(("item", "the questionnaire has no items"))
    _walk(raw_items, None, 1, items, problems)
    if len(items) > MAX_ITEMS:
        problems.append(("item", f"more than {MAX_ITEMS} items"))
    if items and not any(item.answerable for item in items.values()):
        problems.append(("item", "the questionnaire has no questions to answer"))
    _check_conditions(items, problems)
    if problems:
        raise DefinitionError(problems)
    return Definition(
        url=resource.get("url"),
        version=resource.get("version"),
        title=str(resource.get("title") or resource.get("name") or "Questionnaire"),
        items=items,
    )

"""Scoring as data: a questionnaire's rules (sum of ordinal values, bands, a positive-screen
threshold, critical-item and flag rules, follow-up rules) applied to validated answers.

No instrument has code of its own here; PHQ-9, GAD-7, AUDIT-C and the rest differ only in their
`*.scoring.json` files.
"""

import itertools
from dataclasses import dataclass, field
from typing import Any

from backend.assessments.definition import Definition, Item
from backend.assessments.enable_when import compare
from shared.schemas.assessments import Band, Driver, Finding, FollowUpRule, ItemRule, ScoringRules


class RulesError(Exception):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{w}: {m}" for w, m in problems[:5]))


@dataclass(slots=True)
class Verdict:
    score: int | None = None
    score_max: int | None = None
    band: Band | None = None
    positive: bool | None = None
    critical: list[Finding] = field(default_factory=list)
    flags: list[Finding] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)
    follow_ups: list[FollowUpRule] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        """What is stored on the response row beside the score."""
        return {
            "score_max": self.score_max,
            "band_label": self.band.label if self.band else None,
            "critical": [f.model_dump() for f in self.critical],
            "flags": [f.model_dump() for f in self.flags],
            "drivers": [d.model_dump() for d in self.drivers],
        }


def display(item: Item, value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    option = item.option(str(value)) if item.options else None
    if option is not None:
        return option.display
    return str(value)


def _ordinal(item: Item, value: Any) -> float | None:
    option = item.option(str(value)) if item.options else None
    return option.ordinal if option is not None else None


def check_rules(definition: Definition, rules: ScoringRules) -> None:
    """Rules must refer to real items, and sums to items whose options carry ordinals."""
    problems: list[tuple[str, str]] = []
    items = definition.items
    if rules.score is not None:
        for link_id in rules.score.items:
            item = items.get(link_id)
            if item is None or not item.answerable:
                problems.append((f"scoring.score.items {link_id!r}", "no such question"))
            elif item.type != "choice" or any(o.ordinal is None for o in item.options):
                problems.append(
                    (
                        f"scoring.score.items {link_id!r}",
                        "summed items must be choice items whose every option has an ordinal "
                        "value (extension ordinalValue)",
                    )
                )
        if rules.score.max < rules.score.min:
            problems.append(("scoring.score", "max is below min"))
    elif rules.bands or rules.positive or rules.follow_up:
        problems.append(("scoring", "bands, positive and follow_up rules need a score"))
    for index, band in enumerate(rules.bands):
        if band.max < band.min:
            problems.append((f"scoring.bands[{index}]", "max is below min"))
    ordered = sorted(rules.bands, key=lambda b: b.min)
    for low, high in itertools.pairwise(ordered):
        if high.min <= low.max:
            problems.append(("scoring.bands", f"bands {low.code!r} and {high.code!r} overlap"))
    for kind, rule_list in (("critical", rules.critical), ("flags", rules.flags)):
        for rule in rule_list:
            item = items.get(rule.item)
            if item is None or not item.answerable:
                problems.append((f"scoring.{kind} {rule.id!r}", f"no question {rule.item!r}"))
            elif rule.on == "ordinal" and not any(o.ordinal is not None for o in item.options):
                problems.append(
                    (f"scoring.{kind} {rule.id!r}", "item has no ordinal values to compare")
                )
            if rule.operator == "exists":
                problems.append((f"scoring.{kind} {rule.id!r}", "use a comparison, not exists"))
    if problems:
        raise RulesError(problems)


def _matches(rule: ItemRule, item: Item, values: list[Any]) -> Any:
    """The first answer that satisfies the rule, or None."""
    for value in values:
        actual = _ordinal(item, value) if rule.on == "ordinal" else value
        if actual is not None and compare(rule.operator, actual, rule.value):
            return value
    return None


def _findings(
    definition: Definition, rules: list[ItemRule], answers: dict[str, list[Any]]
) -> list[Finding]:
    found = []
    for rule in rules:
        item = definition.items.get(rule.item)
        values = answers.get(rule.item) or []
        if item is None or not values:
            continue
        hit = _matches(rule, item, values)
        if hit is not None:
            found.append(
                Finding(
                    rule_id=rule.id, link_id=rule.item, label=rule.label, answer=display(item, hit)
                )
            )
    return found


def positive_threshold(rules: ScoringRules, sex: str | None) -> int | None:
    """A rule for the patient's recorded sex wins over the general one."""
    wanted = (sex or "").strip().casefold()
    specific = [r for r in rules.positive if r.sex and r.sex.casefold() == wanted]
    general = [r for r in rules.positive if not r.sex]
    chosen = specific or general
    return min(r.at_least for r in chosen) if chosen else None


def evaluate(
    definition: Definition,
    rules: ScoringRules | None,
    answers: dict[str, list[Any]],
    *,
    sex: str | None = None,
) -> Verdict:
    verdict = Verdict()
    if rules is None:
        return verdict
    if rules.score is not None:
        total = 0.0
        drivers: list[tuple[float, int, Driver]] = []
        for position, link_id in enumerate(rules.score.items):
            item = definition.items[link_id]
            for value in answers.get(link_id) or []:
                points = _ordinal(item, value) or 0.0
                total += points
                if points > 0:
                    driver = Driver(
                        link_id=link_id,
                        text=item.text,
                        answer=display(item, value),
                        points=points,
                    )
                    drivers.append((-points, position, driver))
        verdict.score = round(total)
        verdict.score_max = rules.score.max
        verdict.drivers = [d for _, _, d in sorted(drivers, key=lambda t: (t[0], t[1]))]
        verdict.band = next((b for b in rules.bands if b.min <= verdict.score <= b.max), None)
        threshold = positive_threshold(rules, sex)
        verdict.positive = None if threshold is None else verdict.score >= threshold
        verdict.follow_ups = [r for r in rules.follow_up if verdict.score >= r.at_least]
    verdict.critical = _findings(definition, rules.critical, answers)
    verdict.flags = _findings(definition, rules.flags, answers)
    return verdict

"""Assessments without a database: definitions, scoring at every band boundary, enableWhen,
answer validation and the FHIR export, all driven by the shipped JSON files."""

import copy
import uuid
from datetime import UTC, date, datetime

import pytest

from backend.assessments import definition as definitions
from backend.assessments import fhir_export, scoring
from backend.assessments.definition import Condition, DefinitionError
from backend.assessments.enable_when import condition_holds, enabled_items
from backend.assessments.instruments import shipped
from backend.assessments.models import AssessmentResponse, Questionnaire
from backend.assessments.validation import check_answers
from backend.core.errors import Unprocessable
from backend.patients.models import Patient
from shared.schemas.assessments import Answer, ScoringRules
from tests.backend.assessment_helpers import answers_for_score, instrument, phq9_answers

# -- scoring at every band boundary, each shipped instrument ---------------------------------

BOUNDARIES = [
    # (instrument, score, band, positive screen)
    ("phq-2", 0, "negative", False),
    ("phq-2", 2, "negative", False),
    ("phq-2", 3, "positive", True),
    ("phq-2", 6, "positive", True),
    ("phq-9", 0, "minimal", False),
    ("phq-9", 4, "minimal", False),
    ("phq-9", 5, "mild", False),
    ("phq-9", 9, "mild", False),
    ("phq-9", 10, "moderate", True),
    ("phq-9", 14, "moderate", True),
    ("phq-9", 15, "moderately_severe", True),
    ("phq-9", 19, "moderately_severe", True),
    ("phq-9", 20, "severe", True),
    ("phq-9", 24, "severe", True),
    ("gad-7", 0, "minimal", False),
    ("gad-7", 4, "minimal", False),
    ("gad-7", 5, "mild", False),
    ("gad-7", 9, "mild", False),
    ("gad-7", 10, "moderate", True),
    ("gad-7", 14, "moderate", True),
    ("gad-7", 15, "severe", True),
    ("gad-7", 21, "severe", True),
    ("audit-c", 0, "low_risk", False),
    ("audit-c", 3, "low_risk", False),
    ("audit-c", 4, "increased_risk", True),
    ("audit-c", 5, "increased_risk", True),
    ("audit-c", 6, "high_risk", True),
    ("audit-c", 7, "high_risk", True),
    ("audit-c", 8, "severe_risk", True),
    ("audit-c", 12, "severe_risk", True),
]


@pytest.mark.parametrize(("key", "score", "band", "positive"), BOUNDARIES)
def test_score_band_and_screen_at_each_boundary(key, score, band, positive):
    definition, rules = instrument(key)
    spare = ("phq9-9",) if key == "phq-9" else ()
    answers = answers_for_score(key, score, spare=spare)
    verdict = scoring.evaluate(definition, rules, answers, sex="male")
    assert (verdict.score, verdict.band.code, verdict.positive) == (score, band, positive)
    assert verdict.critical == []
    assert sum(d.points for d in verdict.drivers) == score
    assert [d.points for d in verdict.drivers] == sorted(
        (d.points for d in verdict.drivers), reverse=True
    )


@pytest.mark.parametrize(
    ("sex", "score", "positive"),
    [
        ("female", 2, False),
        ("female", 3, True),
        ("male", 3, False),
        ("male", 4, True),
        (None, 3, False),
        (None, 4, True),
    ],
)
def test_audit_c_threshold_is_three_for_women(sex, score, positive):
    definition, rules = instrument("audit-c")
    verdict = scoring.evaluate(definition, rules, answers_for_score("audit-c", score), sex=sex)
    assert verdict.positive is positive


@pytest.mark.parametrize(("item9", "total"), [(1, 1), (1, 5), (2, 14), (3, 27)])
def test_phq9_item_9_above_zero_is_critical_whatever_the_total(item9, total):
    definition, rules = instrument("phq-9")
    verdict = scoring.evaluate(definition, rules, phq9_answers(total, item9=item9))
    assert verdict.score == total
    [finding] = verdict.critical
    assert finding.rule_id == "phq9-self-harm" and finding.link_id == "phq9-9"


def test_phq9_band_reaches_27_with_item_9():
    definition, rules = instrument("phq-9")
    verdict = scoring.evaluate(definition, rules, phq9_answers(27, item9=3))
    assert (verdict.score, verdict.band.code) == (27, "severe")


@pytest.mark.parametrize(("score", "follow_up"), [(2, []), (3, ["phq-9"]), (6, ["phq-9"])])
def test_phq2_follow_up_rule(score, follow_up):
    definition, rules = instrument("phq-2")
    verdict = scoring.evaluate(definition, rules, answers_for_score("phq-2", score))
    assert [r.assign for r in verdict.follow_ups] == follow_up


def test_shipped_instruments_carry_their_loinc_codes():
    codes = {i.key: i.loinc_code for i in shipped()}
    assert codes == {
        "phq-2": "55757-9",
        "phq-9": "44249-1",
        "gad-7": "69737-5",
        "audit-c": "72109-2",
        "intake": None,
    }
    scores = {i.key: (i.scoring["score"] or {}).get("loinc") for i in shipped() if i.scoring}
    assert scores["phq-9"] == "44261-6" and scores["gad-7"] == "70274-6"


def test_intake_flags_social_needs():
    definition, rules = instrument("intake")
    answers = {
        "housing-status": ["worried"],
        "food-worry": [True],
        "transport-missed": [False],
        "safety-afraid": [False],
        "support-helper": ["nobody"],
    }
    verdict = scoring.evaluate(definition, rules, answers)
    assert verdict.score is None and verdict.critical == []
    assert {f.rule_id for f in verdict.flags} == {"intake-housing", "intake-food", "intake-alone"}


# -- enableWhen ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "expected", "answers", "holds"),
    [
        ("exists", True, [1], True),
        ("exists", True, [], False),
        ("exists", False, [], True),
        ("exists", False, ["x"], False),
        ("=", "a", ["a"], True),
        ("=", "a", ["b"], False),
        ("=", True, [True], True),
        ("=", True, [False], False),
        ("=", "a", [], False),
        ("!=", "a", ["b"], True),
        ("!=", "a", ["a"], False),
        ("!=", "a", ["a", "b"], False),
        ("!=", "a", [], False),
        (">", 5, [6], True),
        (">", 5, [5], False),
        ("<", 5, [4], True),
        ("<", 5, [5], False),
        (">=", 5, [5], True),
        (">=", 5, [4], False),
        ("<=", 5, [5], True),
        ("<=", 5, [6], False),
        (">", "2020-01-01", ["2021-06-30"], True),
        ("<", 2.5, [2.4], True),
        (">", True, [True], False),
        ("=", 1, ["1"], False),
    ],
)
def test_each_enable_when_operator(operator, expected, answers, holds):
    condition = Condition(question="q", operator=operator, answer=expected)
    assert condition_holds(condition, answers) is holds


def _form(behavior: str = "all") -> dict:
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            {"linkId": "smoke", "text": "Do you smoke?", "type": "boolean"},
            {"linkId": "per-day", "text": "Cigarettes per day", "type": "integer"},
            {
                "linkId": "quit",
                "text": "Would you like help quitting?",
                "type": "boolean",
                "enableBehavior": behavior,
                "enableWhen": [
                    {"question": "smoke", "operator": "=", "answerBoolean": True},
                    {"question": "per-day", "operator": ">=", "answerInteger": 10},
                ],
            },
            {
                "linkId": "group",
                "text": "About quitting",
                "type": "group",
                "enableWhen": [{"question": "quit", "operator": "=", "answerBoolean": True}],
                "item": [{"linkId": "when", "text": "When?", "type": "date"}],
            },
        ],
    }


@pytest.mark.parametrize(
    ("behavior", "answers", "quit_enabled"),
    [
        ("all", {"smoke": [True], "per-day": [12]}, True),
        ("all", {"smoke": [True], "per-day": [5]}, False),
        ("any", {"smoke": [True], "per-day": [5]}, True),
        ("any", {"smoke": [False], "per-day": [5]}, False),
    ],
)
def test_enable_behavior_all_and_any(behavior, answers, quit_enabled):
    definition = definitions.parse(_form(behavior))
    assert ("quit" in enabled_items(definition, answers)) is quit_enabled


def test_items_in_a_disabled_group_are_disabled_and_their_answers_dropped():
    definition = definitions.parse(_form())
    raw = [
        Answer(link_id="smoke", values=[True]),
        Answer(link_id="per-day", values=[3]),
        Answer(link_id="quit", values=[True]),
        Answer(link_id="when", values=["2026-01-01"]),
    ]
    checked = check_answers(definition, raw, final=True)
    assert checked.dropped == ["quit", "when"]
    assert set(checked.answers) == {"smoke", "per-day"}


def test_phq9_difficulty_item_shows_once_any_problem_is_reported():
    definition, _ = instrument("phq-9")
    none = {f"phq9-{i}": ["LA6568-5"] for i in range(1, 10)}
    assert "phq9-10" not in enabled_items(definition, none)
    some = dict(none, **{"phq9-4": ["LA6569-3"]})
    assert "phq9-10" in enabled_items(definition, some)


# -- answer validation -----------------------------------------------------------------------


def _intake_valid() -> list[Answer]:
    return [
        Answer(link_id="housing-status", values=["steady"]),
        Answer(link_id="food-worry", values=[True]),
        Answer(link_id="food-days-short", values=[3]),
        Answer(link_id="transport-missed", values=[False]),
        Answer(link_id="transport-miles", values=[4.5]),
        Answer(link_id="safety-afraid", values=[False]),
        Answer(link_id="support-helper", values=["partner"]),
        Answer(link_id="support-helper-name", values=["Linda"]),
        Answer(link_id="support-since", values=["2019-05-01"]),
        Answer(link_id="housing-problems", values=["Mold", "Stairs too steep for me"]),
    ]


def test_a_complete_intake_is_accepted():
    definition, _ = instrument("intake")
    checked = check_answers(definition, _intake_valid(), final=True)
    assert checked.dropped == []
    assert checked.answers["housing-problems"] == ["Mold", "Stairs too steep for me"]


BAD_ANSWERS = [
    (Answer(link_id="nope", values=[1]), "nope", "There is no item 'nope'"),
    (Answer(link_id="food-worry", values=["yes"]), "food-worry", "true or false"),
    (Answer(link_id="food-days-short", values=[2.5]), "food-days-short", "whole number"),
    (Answer(link_id="food-days-short", values=[True]), "food-days-short", "whole number"),
    (Answer(link_id="food-days-short", values=[40]), "food-days-short", "at most 31"),
    (Answer(link_id="food-days-short", values=[-1]), "food-days-short", "at least 0"),
    (Answer(link_id="transport-miles", values=["far"]), "transport-miles", "a number"),
    (Answer(link_id="support-since", values=["2019-02-30"]), "support-since", "calendar date"),
    (Answer(link_id="support-since", values=["May 2019"]), "support-since", "YYYY-MM-DD"),
    (Answer(link_id="housing-status", values=["mansion"]), "housing-status", "one of its options"),
    (Answer(link_id="housing-status", values=["steady", "none"]), "housing-status", "one answer"),
    (Answer(link_id="support-helper-name", values=["x" * 101]), "support-helper-name", "longer"),
    (Answer(link_id="housing", values=["x"]), "housing", "takes no answer"),
    (Answer(link_id="intake-intro", values=["x"]), "intake-intro", "takes no answer"),
]


@pytest.mark.parametrize(("bad", "link_id", "words"), BAD_ANSWERS, ids=[b[2] for b in BAD_ANSWERS])
def test_bad_answers_are_refused_naming_the_item(bad, link_id, words):
    definition, _ = instrument("intake")
    answers = [a for a in _intake_valid() if a.link_id != bad.link_id] + [bad]
    with pytest.raises(Unprocessable) as caught:
        check_answers(definition, answers, final=False)
    assert words in caught.value.message
    assert {"field": f"answers.{link_id}"}.items() <= caught.value.fields[0].items()


def test_missing_required_answers_are_refused_on_submission_only():
    definition, _ = instrument("phq-9")
    partial = [Answer(link_id="phq9-1", values=["LA6569-3"])]
    assert check_answers(definition, partial, final=False).answers == {"phq9-1": ["LA6569-3"]}
    with pytest.raises(Unprocessable) as caught:
        check_answers(definition, partial, final=True)
    missing = {f["field"] for f in caught.value.fields}
    # Items 2-9 are required; item 10 is required and enabled because item 1 is above 0.
    assert missing == {f"answers.phq9-{i}" for i in range(2, 11)}


def test_answering_the_same_item_twice_is_refused():
    definition, _ = instrument("phq-2")
    twice = [Answer(link_id="phq2-1", values=["LA6568-5"])] * 2
    with pytest.raises(Unprocessable, match="answered twice"):
        check_answers(definition, twice, final=False)


# -- questionnaire definitions ---------------------------------------------------------------


def _broken(change) -> dict:
    resource = copy.deepcopy(_form())
    change(resource)
    return resource


MALFORMED = [
    ("not a questionnaire", {"resourceType": "Patient"}, "resourceType"),
    ("status missing", {"resourceType": "Questionnaire", "item": []}, "status"),
    ("status unknown", {"resourceType": "Questionnaire", "status": "live", "item": []}, "status"),
    (
        "linkId missing",
        {"resourceType": "Questionnaire", "status": "active", "item": [{"type": "string"}]},
        "item.0.linkId",
    ),
    (
        "unsupported type",
        _broken(lambda r: r["item"].append({"linkId": "f", "text": "File", "type": "attachment"})),
        "type 'attachment' is not supported",
    ),
    (
        "duplicate linkId",
        _broken(lambda r: r["item"].append({"linkId": "smoke", "text": "Again", "type": "string"})),
        "linkId is used twice",
    ),
    (
        "enableWhen to nowhere",
        _broken(
            lambda r: r["item"][2]["enableWhen"].append(
                {"question": "ghost", "operator": "=", "answerBoolean": True}
            )
        ),
        "'ghost', which is not a question",
    ),
    (
        "choice without options",
        _broken(lambda r: r["item"].append({"linkId": "c", "text": "Pick", "type": "choice"})),
        "needs answerOption",
    ),
    (
        "value set",
        _broken(
            lambda r: r["item"].append(
                {
                    "linkId": "vs",
                    "text": "Pick",
                    "type": "choice",
                    "answerValueSet": "http://example.org/vs",
                    "answerOption": [{"valueString": "a"}],
                }
            )
        ),
        "answerValueSet is not supported",
    ),
    ("no items", {"resourceType": "Questionnaire", "status": "active"}, "no items"),
]


@pytest.mark.parametrize(("name", "resource", "words"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_questionnaires_are_refused_with_the_reason(name, resource, words):
    with pytest.raises(DefinitionError) as caught:
        definitions.parse(resource)
    assert any(words in f"{where}: {what}" for where, what in caught.value.problems), (
        caught.value.problems
    )


def test_scoring_rules_must_fit_the_questionnaire():
    definition = definitions.parse(_form())
    rules = ScoringRules.model_validate(
        {"score": {"items": ["smoke", "ghost"], "max": 2}, "bands": [], "positive": []}
    )
    with pytest.raises(scoring.RulesError) as caught:
        scoring.check_rules(definition, rules)
    problems = " ".join(what for _, what in caught.value.problems)
    assert "ordinal" in problems and "no such question" in problems


# -- FHIR export -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["phq-9", "intake"])
def test_fhir_export_validates(key):
    found = next(i for i in shipped() if i.key == key)
    questionnaire = Questionnaire(
        id=uuid.uuid4(), key=key, version="1.0.0", title="t", resource=found.resource,
        scoring=found.scoring,
    )  # fmt: skip
    definition, rules = instrument(key)
    if key == "phq-9":
        answers = phq9_answers(11)
    else:
        answers = check_answers(definition, _intake_valid(), final=True).answers
    verdict = scoring.evaluate(definition, rules, answers)
    patient = Patient(
        id=uuid.uuid4(), organization_id=uuid.uuid4(), mrn="1", given_name="Ann",
        family_name="Lee", birth_date=date(1950, 1, 1),
    )  # fmt: skip
    response = AssessmentResponse(
        id=uuid.uuid4(), assignment_id=uuid.uuid4(), patient_id=patient.id,
        questionnaire_id=questionnaire.id, status="completed", answers=answers,
        answered_by_id=uuid.uuid4(), on_behalf=True, access_basis="proxy",
        submitted_at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC), score=verdict.score,
        result=verdict.as_result(),
    )  # fmt: skip
    bundle = fhir_export.bundle(response, questionnaire, definition, patient)
    resources = [e["resource"] for e in bundle["entry"]]
    qr = resources[0]
    assert qr["resourceType"] == "QuestionnaireResponse" and qr["status"] == "completed"
    assert qr["source"]["reference"].startswith("RelatedPerson/")
    if key == "phq-9":
        observation = resources[1]
        assert observation["valueInteger"] == 11
        assert observation["code"]["coding"][0]["code"] == "44261-6"
        assert observation["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{qr['id']}"}]
        assert observation["interpretation"] == [{"text": "Moderate depression"}]
    else:
        assert len(resources) == 1
        groups = {node["linkId"]: node for node in qr["item"]}
        assert groups["food"]["item"][0]["answer"] == [{"valueBoolean": True}]

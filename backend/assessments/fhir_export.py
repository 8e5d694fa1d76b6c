"""A completed response as FHIR: a QuestionnaireResponse and, for a scored instrument, an
Observation carrying the total score (`derivedFrom` the response), in a collection Bundle.
Each resource is validated by `fhir.resources` before it leaves the server."""

import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from backend.assessments.definition import Definition, Item
from backend.assessments.models import AssessmentResponse, Questionnaire
from backend.patients.models import Patient

LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _answer(item: Item, value: Any) -> dict[str, Any]:
    if item.type == "boolean":
        return {"valueBoolean": value}
    if item.type == "integer":
        return {"valueInteger": value}
    if item.type == "decimal":
        return {"valueDecimal": value}
    if item.type == "date":
        return {"valueDate": value}
    option = item.option(str(value)) if item.options else None
    if option is not None:
        coding = {"code": option.code, "display": option.display}
        if option.system:
            coding["system"] = option.system
        return {"valueCoding": coding}
    return {"valueString": str(value)}


def _items(
    definition: Definition, link_ids: list[str], answers: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    out = []
    for link_id in link_ids:
        item = definition.items[link_id]
        if item.type == "display":
            continue
        node: dict[str, Any] = {"linkId": link_id}
        if item.text:
            node["text"] = item.text
        children = _items(definition, item.children, answers)
        if item.type == "group":
            if not children:
                continue
            node["item"] = children
        else:
            values = answers.get(link_id) or []
            if not values:
                continue
            node["answer"] = [_answer(item, v) for v in values]
            if children:
                node["answer"][0]["item"] = children
        out.append(node)
    return out


def questionnaire_response(
    response: AssessmentResponse,
    questionnaire: Questionnaire,
    definition: Definition,
    patient: Patient,
) -> dict[str, Any]:
    roots = [i.link_id for i in definition.items.values() if i.parent is None]
    canonical = questionnaire.resource.get("url") or f"urn:uuid:{questionnaire.id}"
    if questionnaire.resource.get("version"):
        canonical = f"{canonical}|{questionnaire.resource['version']}"
    source = (
        {"reference": f"RelatedPerson/{response.answered_by_id}", "display": "Family member"}
        if response.on_behalf
        else {"reference": f"Patient/{patient.id}"}
    )
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.id),
        "questionnaire": canonical,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient.id}", "display": patient.full_name},
        "authored": response.submitted_at.isoformat() if response.submitted_at else None,
        "author": source,
        "source": source,
        "item": _items(definition, roots, response.answers),
    }
    QuestionnaireResponse.model_validate(resource)
    return resource


def score_observation(
    response: AssessmentResponse, scoring: dict[str, Any], patient: Patient
) -> dict[str, Any] | None:
    score_rule = (scoring or {}).get("score")
    if score_rule is None or response.score is None:
        return None
    code = {"text": score_rule.get("display") or "Total score"}
    if score_rule.get("loinc"):
        code["coding"] = [
            {
                "system": LOINC,
                "code": score_rule["loinc"],
                "display": score_rule.get("display") or "Total score",
            }
        ]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(response.id, "total-score")),
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": code,
        "subject": {"reference": f"Patient/{patient.id}"},
        "effectiveDateTime": response.submitted_at.isoformat() if response.submitted_at else None,
        "valueInteger": response.score,
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{response.id}"}],
    }
    band_label = (response.result or {}).get("band_label")
    if band_label:
        resource["interpretation"] = [{"text": band_label}]
    Observation.model_validate(resource)
    return resource


def bundle(
    response: AssessmentResponse,
    questionnaire: Questionnaire,
    definition: Definition,
    patient: Patient,
) -> dict[str, Any]:
    entries = [questionnaire_response(response, questionnaire, definition, patient)]
    observation = score_observation(response, questionnaire.scoring or {}, patient)
    if observation is not None:
        entries.append(observation)
    resource = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{entry['id']}", "resource": entry} for entry in entries],
    }
    Bundle.model_validate(resource)
    return resource

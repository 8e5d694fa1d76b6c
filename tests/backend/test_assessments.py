"""Assessments over REST, on SQLite and PostgreSQL: sending, drafts and resuming, submission
scored on the server, the critical-answer path (alert, urgent push, urgent thread message,
acknowledgement), PHQ-2 follow-up, recurrence, family answering on the patient's behalf,
uploads, the team's overdue list, trends, the FHIR export, and bad input."""

import copy
import uuid
from datetime import timedelta

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from backend.assessments.instruments import ensure_shipped
from backend.assessments.models import (
    AssessmentAlert,
    AssessmentAssignment,
    AssessmentResponse,
)
from backend.core.db import Database
from backend.core.types import utcnow
from backend.notifications.models import Notification, PushJob
from tests import factories as f
from tests.backend.access_helpers import assert_error, audit_entries, set_columns
from tests.backend.assessment_helpers import answers_for_score, as_payload, phq9_answers
from tests.backend.scenario import World, build_world

ITEM_9_TEXT = "better off dead"


@pytest.fixture
async def world(db: Database) -> World:
    world = await build_world(db)
    await f.sync_conversations(db, world.patient)
    async with db.session() as session:
        await ensure_shipped(session)
        await session.commit()
    return world


async def questionnaire_id(client: httpx.AsyncClient, headers: dict, key: str) -> str:
    response = await client.get("/questionnaires", headers=headers)
    assert response.status_code == 200, response.text
    return next(q["id"] for q in response.json()["data"] if q["key"] == key)


async def assign(client, world: World, headers, key: str, **extra) -> dict:
    body = {
        "questionnaire_id": await questionnaire_id(client, headers, key),
        "due_at": (utcnow() + timedelta(days=2)).isoformat(),
        **extra,
    }
    response = await client.post(
        f"/patients/{world.patient.id}/assessments", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def submit_url(world: World, assignment_id: str) -> str:
    return f"/patients/{world.patient.id}/assessments/{assignment_id}/submit"


async def count(db: Database, model, **equals) -> int:
    statement = select(func.count()).select_from(model)
    for column, value in equals.items():
        statement = statement.where(getattr(model, column) == value)
    async with db.session() as session:
        return int(await session.scalar(statement) or 0)


async def test_assign_then_patient_sees_it_and_is_told(client, db, world, as_):
    cm = await as_(world.care_manager)
    assigned = await assign(client, world, cm, "phq-9", recurrence_days=14)
    assert assigned["status"] == "pending" and assigned["recurrence_days"] == 14
    assert assigned["assigned_by_name"] == world.care_manager.full_name

    for who in (world.patient_user, world.family_full):
        listing = await client.get(
            f"/patients/{world.patient.id}/assessments", headers=await as_(who)
        )
        assert [a["id"] for a in listing.json()["data"]] == [assigned["id"]]
        assert listing.json()["data"][0]["overdue"] is False
    refused = await client.get(
        f"/patients/{world.patient.id}/assessments", headers=await as_(world.family_limited)
    )
    assert_error(refused, 403)

    detail = await client.get(
        f"/patients/{world.patient.id}/assessments/{assigned['id']}",
        headers=await as_(world.patient_user),
    )
    assert detail.json()["questionnaire"]["resourceType"] == "Questionnaire"
    # The patient and the family member who answers for them are told, in generic words.
    async with db.session() as session:
        told = (
            await session.scalars(
                select(Notification).where(Notification.category == "assessments")
            )
        ).all()
        pushes = await session.scalar(
            select(func.count()).select_from(PushJob).where(PushJob.category == "assessments")
        )
    assert {n.user_id for n in told} == {world.patient_user.id, world.family_full.id}
    assert pushes == 2
    assert all("PHQ" not in n.title + n.body for n in told)


async def test_draft_is_saved_resumed_then_submitted_and_scored_on_the_server(
    client, db, world, as_
):
    assigned = await assign(client, world, await as_(world.care_manager), "phq-9")
    patient = await as_(world.patient_user)
    base = f"/patients/{world.patient.id}/assessments/{assigned['id']}"
    answers = phq9_answers(12)
    first_three = {k: answers[k] for k in ("phq9-1", "phq9-2", "phq9-3")}
    saved = await client.put(f"{base}/draft", json=as_payload(first_three), headers=patient)
    assert saved.status_code == 200, saved.text
    assert saved.json()["answered"] == 3

    resumed = (await client.get(base, headers=patient)).json()
    assert resumed["status"] == "in_progress" and resumed["draft_saved_at"]
    assert {a["link_id"]: a["values"] for a in resumed["answers"]} == first_three

    receipt = await client.post(f"{base}/submit", json=as_payload(answers), headers=patient)
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["next_assignment_id"] is None

    results = await client.get(
        f"/patients/{world.patient.id}/assessment-results",
        headers=await as_(world.clinician),
    )
    [result] = results.json()["data"]
    assert (result["score"], result["band_code"], result["band_label"]) == (
        12,
        "moderate",
        "Moderate depression",
    )
    assert result["positive"] is True and result["critical"] is False
    assert result["score_max"] == 27 and result["drivers"][0]["points"] == 3
    assert result["on_behalf"] is False
    # Patients and family do not read scores.
    for who in (world.patient_user, world.family_full):
        assert (
            await client.get(
                f"/patients/{world.patient.id}/assessment-results", headers=await as_(who)
            )
        ).status_code == 403


async def test_phq9_item_9_alerts_the_team_at_once_and_is_acknowledged(
    client, db, settings, world, as_
):
    assigned = await assign(client, world, await as_(world.care_manager), "phq-9")
    receipt = await client.post(
        submit_url(world, assigned["id"]),
        json=as_payload(phq9_answers(4, item9=1)),
        headers=await as_(world.patient_user),
    )
    assert receipt.status_code == 200, receipt.text

    # The alert, in the same transaction as the response.
    async with db.session() as session:
        [alert] = (await session.scalars(select(AssessmentAlert))).all()
        response = await session.get(AssessmentResponse, alert.response_id)
        urgent = (
            await session.scalars(select(Notification).where(Notification.category == "alerts"))
        ).all()
        jobs = (await session.scalars(select(PushJob).where(PushJob.category == "alerts"))).all()
    assert response is not None and response.critical and response.score == 4
    team = {world.care_manager.id, world.navigator.id, world.clinician.id}
    assert {n.user_id for n in urgent} == team and all(n.urgent for n in urgent)
    assert {j.user_id for j in jobs} == team and all(j.urgent for j in jobs)
    for text in [n.title + n.body for n in urgent] + [j.title + j.body for j in jobs]:
        assert ITEM_9_TEXT not in text and "PHQ" not in text and "Rosa" not in text

    # The urgent message in the care-team thread.
    cm = await as_(world.care_manager)
    thread = (await client.get(f"/patients/{world.patient.id}/care-team-thread", headers=cm)).json()
    messages = (await client.get(f"/conversations/{thread['id']}/messages", headers=cm)).json()
    system = [m for m in messages["data"] if m["kind"] == "system"]
    assert system and system[-1]["urgent"] is True
    assert "PHQ-9" in system[-1]["body"] and ITEM_9_TEXT not in system[-1]["body"]

    # Staff home lists it; the result names the critical item.
    listed = (await client.get("/assessment-alerts", headers=cm)).json()["data"]
    assert [a["id"] for a in listed] == [str(alert.id)]
    assert listed[0]["status"] == "open" and listed[0]["patient_name"] == "Rosa Patient"
    other = await client.get("/assessment-alerts", headers=await as_(world.other_staff))
    assert other.json()["data"] == []
    result = (
        await client.get(
            f"/patients/{world.patient.id}/assessment-results/{alert.response_id}", headers=cm
        )
    ).json()
    assert result["critical_findings"][0]["link_id"] == "phq9-9"

    # Acknowledged once, by a team member; audited.
    ack_url = f"/patients/{world.patient.id}/assessment-alerts/{alert.id}/acknowledge"
    outsider = await client.post(ack_url, json={"note": None}, headers=await as_(world.other_staff))
    assert_error(outsider, 403)
    done = await client.post(
        ack_url, json={"note": "Called; safety plan in place."}, headers=await as_(world.navigator)
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "acknowledged"
    assert done.json()["acknowledged_by_name"] == world.navigator.full_name
    again = assert_error(await client.post(ack_url, json={}, headers=cm), 409)
    assert world.navigator.full_name in again["message"]
    [entry] = await audit_entries(db, action="assessment.alert_acknowledge")
    assert entry.actor_id == world.navigator.id and entry.patient_id == world.patient.id
    assert (await client.get("/assessment-alerts", headers=cm)).json()["data"] == []


async def test_positive_phq2_assigns_a_phq9_once(client, db, world, as_):
    cm = await as_(world.care_manager)
    patient = await as_(world.patient_user)
    for round_ in range(2):
        phq2 = await assign(client, world, cm, "phq-2")
        receipt = await client.post(
            submit_url(world, phq2["id"]),
            json=as_payload(answers_for_score("phq-2", 3 + round_)),
            headers=patient,
        )
        assert receipt.status_code == 200, receipt.text
    listing = (await client.get(f"/patients/{world.patient.id}/assessments", headers=cm)).json()
    follow_ups = [a for a in listing["data"] if a["reason"] == "follow_up"]
    assert [a["questionnaire_key"] for a in follow_ups] == ["phq-9"]
    assert follow_ups[0]["assigned_by_name"] is None


async def test_negative_phq2_assigns_nothing(client, world, as_):
    cm = await as_(world.care_manager)
    phq2 = await assign(client, world, cm, "phq-2")
    await client.post(
        submit_url(world, phq2["id"]),
        json=as_payload(answers_for_score("phq-2", 2)),
        headers=await as_(world.patient_user),
    )
    listing = (await client.get(f"/patients/{world.patient.id}/assessments", headers=cm)).json()
    assert listing["data"] == []


async def test_recurrence_creates_the_next_assignment(client, db, world, as_):
    cm = await as_(world.care_manager)
    first = await assign(client, world, cm, "gad-7", recurrence_days=14)
    receipt = await client.post(
        submit_url(world, first["id"]),
        json=as_payload(answers_for_score("gad-7", 6)),
        headers=await as_(world.patient_user),
    )
    next_id = receipt.json()["next_assignment_id"]
    assert next_id
    async with db.session() as session:
        before = await session.get(AssessmentAssignment, uuid.UUID(first["id"]))
        after = await session.get(AssessmentAssignment, uuid.UUID(next_id))
    assert after.due_at - before.due_at == timedelta(days=14)
    assert (after.reason, after.status, after.recurrence_days) == ("recurrence", "pending", 14)
    assert after.previous_id == before.id and after.assigned_by_id == world.care_manager.id


async def test_family_member_answers_on_the_patients_behalf(client, db, world, as_):
    assigned = await assign(client, world, await as_(world.care_manager), "gad-7")
    receipt = await client.post(
        submit_url(world, assigned["id"]),
        json=as_payload(answers_for_score("gad-7", 10)),
        headers=await as_(world.family_full),
    )
    assert receipt.status_code == 200, receipt.text
    async with db.session() as session:
        row = await session.get(AssessmentResponse, uuid.UUID(receipt.json()["response_id"]))
    assert (row.answered_by_id, row.on_behalf, row.access_basis) == (
        world.family_full.id,
        True,
        "proxy",
    )
    [entry] = await audit_entries(db, action="assessment.submit")
    assert entry.access_basis == "proxy" and entry.on_behalf_of_id == world.patient.id
    assert entry.actor_id == world.family_full.id
    cm = await as_(world.care_manager)
    [result] = (
        await client.get(f"/patients/{world.patient.id}/assessment-results", headers=cm)
    ).json()["data"]
    assert result["on_behalf"] is True and result["answered_by_name"] == "Fiona Family"
    bundle = (
        await client.get(
            f"/patients/{world.patient.id}/assessment-results/{result['response_id']}/fhir",
            headers=cm,
        )
    ).json()
    Bundle.model_validate(bundle)
    qr, observation = (e["resource"] for e in bundle["entry"])
    assert qr["source"]["reference"] == f"RelatedPerson/{world.family_full.id}"
    assert observation["valueInteger"] == 10
    assert observation["derivedFrom"][0]["reference"] == f"QuestionnaireResponse/{qr['id']}"


async def test_bad_answers_and_submissions_are_refused_and_nothing_is_stored(
    client, db, world, as_
):
    assigned = await assign(client, world, await as_(world.care_manager), "phq-9")
    url = submit_url(world, assigned["id"])
    patient = await as_(world.patient_user)
    good = phq9_answers(7)
    cases = [
        ({**good, "phq9-3": ["often"]}, "phq9-3", "one of its options"),
        ({**good, "phq9-3": [2]}, "phq9-3", "one of its options"),
        ({**good, "phq9-99": ["LA6568-5"]}, "phq9-99", "no item 'phq9-99'"),
        ({k: v for k, v in good.items() if k != "phq9-5"}, "phq9-5", "is required"),
        ({**good, "phq9-1": ["LA6568-5", "LA6569-3"]}, "phq9-1", "takes one answer"),
    ]
    for answers, link_id, words in cases:
        error = assert_error(await client.post(url, json=as_payload(answers), headers=patient), 422)
        assert words in error["message"], error
        assert f"answers.{link_id}" in {field["field"] for field in error["fields"]}
    assert await count(db, AssessmentResponse) == 0
    assert await count(db, AssessmentAssignment, status="pending") == 1

    not_json_number = await client.post(
        url, json={"answers": [{"link_id": "phq9-1", "values": [{"x": 1}]}]}, headers=patient
    )
    assert_error(not_json_number, 422)

    # Who may not answer: staff, family without the grant, other patients (who learn nothing).
    assert_error(
        await client.post(url, json=as_payload(good), headers=await as_(world.care_manager)), 403
    )
    assert_error(
        await client.post(url, json=as_payload(good), headers=await as_(world.family_limited)), 403
    )
    assert_error(
        await client.post(url, json=as_payload(good), headers=await as_(world.other_patient_user)),
        404,
    )
    assert await count(db, AssessmentResponse) == 0

    # Answers to an item that the others disable are dropped, and the receipt says which.
    none_at_all = phq9_answers(0)
    none_at_all["phq9-10"] = ["LA6574-3"]
    receipt = await client.post(url, json=as_payload(none_at_all), headers=patient)
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["dropped"] == ["phq9-10"]
    resubmitted = await client.post(url, json=as_payload(good), headers=patient)
    assert_error(resubmitted, 409, "already_submitted")
    draft_after = await client.put(
        url.replace("/submit", "/draft"), json=as_payload(good), headers=patient
    )
    assert_error(draft_after, 409)
    async with db.session() as session:
        [row] = (await session.scalars(select(AssessmentResponse))).all()
    assert row.score == 0 and "phq9-10" not in row.answers

    # Assignments of another patient's record are not reachable through this one.
    missing = await client.post(
        submit_url(world, str(uuid.uuid4())), json=as_payload(good), headers=patient
    )
    assert_error(missing, 404)


async def test_assigning_needs_the_team_and_a_sensible_due_date(client, world, as_):
    cm = await as_(world.care_manager)
    qid = await questionnaire_id(client, cm, "phq-9")
    path = f"/patients/{world.patient.id}/assessments"
    past = {"questionnaire_id": qid, "due_at": (utcnow() - timedelta(days=3)).isoformat()}
    assert_error(await client.post(path, json=past, headers=cm), 422, "due_in_past")
    naive = {"questionnaire_id": qid, "due_at": "2030-01-01T10:00:00"}
    assert_error(await client.post(path, json=naive, headers=cm), 422)
    unknown = {"questionnaire_id": str(uuid.uuid4()), "due_at": "2030-01-01T10:00:00Z"}
    assert_error(await client.post(path, json=unknown, headers=cm), 404)
    fine = {"questionnaire_id": qid, "due_at": "2030-01-01T10:00:00Z", "recurrence_days": 0}
    assert_error(await client.post(path, json=fine, headers=cm), 422)
    other = await as_(world.other_staff)
    assert_error(await client.post(path, json={**fine, "recurrence_days": 7}, headers=other), 403)
    patient = await as_(world.patient_user)
    assert_error(await client.post(path, json={**fine, "recurrence_days": 7}, headers=patient), 403)


UPLOAD = {
    "resource": {
        "resourceType": "Questionnaire",
        "url": "https://clinic.example/fhir/Questionnaire/pain",
        "version": "2",
        "name": "PainCheck",
        "title": "Pain check",
        "status": "active",
        "item": [
            {
                "linkId": "pain",
                "text": "How bad is your pain today?",
                "type": "choice",
                "required": True,
                "answerOption": [
                    {
                        "valueCoding": {"code": str(n), "display": str(n)},
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
                                "valueDecimal": n,
                            }
                        ],
                    }
                    for n in range(0, 11)
                ],
            },
            {
                "linkId": "where",
                "text": "Where does it hurt?",
                "type": "string",
                "enableWhen": [
                    {"question": "pain", "operator": ">", "answerCoding": {"code": "0"}}
                ],
            },
        ],
    },
    "scoring": {
        "score": {"items": ["pain"], "min": 0, "max": 10},
        "bands": [
            {"code": "mild", "label": "Mild", "min": 0, "max": 3},
            {"code": "severe", "label": "Severe", "min": 4, "max": 10},
        ],
        "positive": [{"at_least": 4}],
    },
}


async def test_staff_upload_a_questionnaire_and_send_it(client, db, world, as_):
    cm = await as_(world.care_manager)
    created = await client.post("/questionnaires", json=UPLOAD, headers=cm)
    assert created.status_code == 201, created.text
    assert (created.json()["key"], created.json()["shipped"]) == ("paincheck", False)
    assert_error(await client.post("/questionnaires", json=UPLOAD, headers=cm), 409)
    assigned = await assign(client, world, cm, "paincheck")
    receipt = await client.post(
        submit_url(world, assigned["id"]),
        json={
            "answers": [
                {"link_id": "pain", "values": ["6"]},
                {"link_id": "where", "values": ["Knee"]},
            ]
        },
        headers=await as_(world.patient_user),
    )
    assert receipt.status_code == 200, receipt.text
    [result] = (
        await client.get(f"/patients/{world.patient.id}/assessment-results", headers=cm)
    ).json()["data"]
    assert (result["score"], result["band_code"], result["positive"]) == (6, "severe", True)
    # Another organization does not see it.
    foreign = await client.get("/questionnaires", headers=await as_(world.foreign_staff))
    assert "paincheck" not in {q["key"] for q in foreign.json()["data"]}
    assert await audit_entries(db, action="questionnaire.upload")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda r: r["item"][0].update(type="attachment"), "resource.item 'pain'", "not supported"),
        (lambda r: r.pop("status"), "resource.status", "required"),
        (lambda r: r["item"][1].update(linkId="pain"), "resource.item 'pain'", "used twice"),
        (lambda r: r.update(resourceType="Patient"), "resource.resourceType", "Questionnaire"),
    ],
)
async def test_malformed_uploads_are_refused_with_the_reason(
    client, world, as_, change, field, words
):
    body = copy.deepcopy(UPLOAD)
    change(body["resource"])
    error = assert_error(
        await client.post("/questionnaires", json=body, headers=await as_(world.clinician)), 422
    )
    assert any(
        fe["field"].startswith(field) and words in fe["message"] for fe in error["fields"]
    ), error


async def test_overdue_assignments_are_on_the_teams_list(client, db, world, as_):
    cm = await as_(world.care_manager)
    late = await assign(client, world, cm, "gad-7")
    await assign(client, world, cm, "phq-9")
    await set_columns(
        db, AssessmentAssignment, uuid.UUID(late["id"]), due_at=utcnow() - timedelta(days=2)
    )
    overdue = (await client.get("/assessment-assignments?overdue=true", headers=cm)).json()
    assert [a["id"] for a in overdue["data"]] == [late["id"]]
    assert overdue["data"][0]["overdue"] is True
    everything = (await client.get("/assessment-assignments", headers=cm)).json()
    assert everything["count"] == 2
    other = await client.get("/assessment-assignments", headers=await as_(world.other_staff))
    assert other.json()["count"] == 0


async def test_trend_per_instrument_and_cancel(client, db, world, as_):
    cm = await as_(world.care_manager)
    patient = await as_(world.patient_user)
    for score in (16, 8):
        assigned = await assign(client, world, cm, "phq-9")
        await client.post(
            submit_url(world, assigned["id"]), json=as_payload(phq9_answers(score)), headers=patient
        )
    [trend] = (
        await client.get(f"/patients/{world.patient.id}/assessment-trends", headers=cm)
    ).json()["data"]
    assert [p["score"] for p in trend["points"]] == [16, 8]
    assert (trend["change"], trend["direction"], trend["score_max"]) == (-8, "better", 27)
    assert next(b["code"] for b in trend["bands"]) == "minimal"

    pending = await assign(client, world, cm, "audit-c")
    cancel_url = f"/patients/{world.patient.id}/assessments/{pending['id']}/cancel"
    cancelled = await client.post(cancel_url, headers=cm)
    assert cancelled.json()["status"] == "cancelled"
    assert_error(await client.post(cancel_url, headers=cm), 409)
    late = await client.post(
        submit_url(world, pending["id"]),
        json=as_payload(answers_for_score("audit-c", 1)),
        headers=patient,
    )
    assert_error(late, 409, "cancelled")

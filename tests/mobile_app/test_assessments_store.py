"""The assessments store: the one-question-per-screen form (pure, from the shipped intake
questionnaire), then the real store against the real backend: a care manager sends a GAD-7, the
patient saves half, resumes, submits, and the care manager reads the server's score."""

import json
import uuid
from datetime import UTC, datetime

from backend.assessments.instruments import DIRECTORY
from mobile_app.stores.assessments import AssessmentsStore, FormState
from mobile_app.stores.patients import LoadState
from shared.schemas.assessments import AssignmentDetail
from tests.mobile_app.client_support import ClientFactory, SignedIn

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _detail(key: str, answers: list[dict] | None = None) -> AssignmentDetail:
    resource = json.loads((DIRECTORY / f"{key}.questionnaire.json").read_text())
    return AssignmentDetail(
        id=uuid.uuid4(), patient_id=uuid.uuid4(), patient_name="Ann Lee",
        questionnaire_id=uuid.uuid4(), questionnaire_key=key, questionnaire_title="T",
        status="pending", reason="manual", due_at=NOW, overdue=False, recurrence_days=None,
        assigned_by_name="Maria Lopez", created_at=NOW, completed_at=None, draft_saved_at=None,
        response_id=None, questionnaire=resource, answers=answers or [],
    )  # fmt: skip


def test_the_form_shows_one_enabled_question_at_a_time():
    form = FormState(_detail("intake"))
    assert form.current.link_id == "housing-status"
    assert form.current.section == "Housing"
    assert form.progress == (1, len(form.pages()))
    assert not form.next() and form.error  # required
    form.answer("housing-status", ["none"])
    assert "housing-problems" not in {q.link_id for q in form.pages()}
    form.answer("housing-status", ["steady"])
    assert form.next() and form.current.link_id == "housing-problems"
    form.next()
    assert form.current.link_id == "food-worry"
    before = len(form.pages())
    form.answer("food-worry", [True])
    assert len(form.pages()) == before + 1  # "how many days" appears at once
    form.answer("food-worry", [False])
    assert len(form.pages()) == before
    form.answer("food-days-short", [4])  # left over from before: not sent
    assert "food-days-short" not in {a.link_id for a in form.payload()}


def test_the_form_resumes_at_the_first_unanswered_question():
    saved = [
        {"link_id": "phq9-1", "values": ["LA6569-3"]},
        {"link_id": "phq9-2", "values": ["LA6568-5"]},
    ]
    form = FormState(_detail("phq-9", saved))
    assert form.current.link_id == "phq9-3"
    assert form.progress == (3, 10)  # item 10 is enabled: item 1 is above "Not at all"


async def test_send_answer_resume_submit_and_read_the_score(
    make_client: ClientFactory, signed_in: SignedIn
):
    manager_api = make_client()
    await signed_in("maria.lopez", api=manager_api)
    staff = AssessmentsStore(manager_api)
    await staff.load_staff()
    assert staff.staff_state is LoadState.loaded, staff.error
    gad7 = next(q for q in staff.questionnaires if q.key == "gad-7")

    patient_api = make_client()
    patient_session = await signed_in("maria.rivera", api=patient_api)
    patient_id = patient_session.viewed_patient.patient_id
    assigned = await staff.assign(patient_id, gad7.id, due_in_days=3, recurrence_days=None)
    assert assigned is not None, staff.error
    assert "Generalized Anxiety" in staff.message

    mine = AssessmentsStore(patient_api)
    await mine.load_due(patient_id)
    assert assigned.id in {a.id for a in mine.due}
    await mine.open_form(assigned.id)
    form = mine.form
    assert form is not None and form.progress == (1, 7)
    for _ in range(3):
        form.answer(form.current.link_id, ["LA6570-1"])  # "More than half the days": 2 each
        form.next()
    await mine.save_and_close()
    assert mine.form is None and "saved" in mine.message

    await mine.open_form(assigned.id)
    form = mine.form
    assert form.progress == (4, 7)
    for _ in range(4):
        form.answer(form.current.link_id, ["LA6569-3"])  # "Several days": 1 each
        form.next()
    assert await mine.submit(), mine.form and mine.form.error
    assert assigned.id not in {a.id for a in mine.due}

    await staff.select_patient(patient_id)
    assert staff.results_state is LoadState.loaded, staff.error
    latest = next(r for r in staff.results if r.assignment_id == assigned.id)
    assert (latest.score, latest.band_code) == (10, "moderate")
    assert any(t.questionnaire_key == "gad-7" for t in staff.trends)

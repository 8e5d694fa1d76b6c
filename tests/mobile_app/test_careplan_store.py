"""The care-plan store against the real backend: Robert marks a dose on Today and reads an
article; a care manager starts a plan from a template, edits it, and a save on top of an older
version is refused with a plain message; adherence loads for staff."""

import uuid

from mobile_app.api.client import ApiClient
from mobile_app.stores.careplan import CONFLICT_MESSAGE, CarePlanStore
from mobile_app.stores.patients import LoadState, PatientListStore
from mobile_app.stores.session import SessionStore
from tests.mobile_app.client_support import ClientFactory, SignedIn

PATIENT = "robert.johnson"
MANAGER = "maria.lopez"


async def signed_in_store(
    make_client: ClientFactory, signed_in: SignedIn, who: str
) -> tuple[SessionStore, CarePlanStore, ApiClient]:
    api = make_client()
    session = await signed_in(who, api=api)
    return session, CarePlanStore(api), api


async def robert(
    make_client: ClientFactory, signed_in: SignedIn
) -> tuple[CarePlanStore, uuid.UUID]:
    session, store, _ = await signed_in_store(make_client, signed_in, PATIENT)
    assert session.viewed_patient is not None
    return store, session.viewed_patient.patient_id


async def test_today_lists_the_doses_and_a_mark_is_recorded(
    make_client: ClientFactory, signed_in: SignedIn
) -> None:
    store, patient_id = await robert(make_client, signed_in)
    await store.load_today(patient_id)
    assert store.today_state is LoadState.loaded, store.error
    assert store.today is not None
    doses = [i for i in store.today.items if i.kind == "medication"]
    assert [d.local_time for d in doses] == ["08:00", "20:00"]
    assert all("Metformin" in d.title for d in doses)

    key = doses[0].key
    assert await store.mark(key, "done"), store.error
    assert next(i for i in store.today.items if i.key == key).status == "done"

    again, _ = await robert(make_client, signed_in)
    await again.load_today(patient_id)
    assert again.today is not None
    assert next(i for i in again.today.items if i.key == key).status == "done"


async def test_skipping_needs_a_reason(make_client: ClientFactory, signed_in: SignedIn) -> None:
    store, patient_id = await robert(make_client, signed_in)
    await store.load_today(patient_id)
    assert store.today is not None
    evening = [i for i in store.today.items if i.kind == "medication"][-1]
    assert await store.mark(evening.key, "skipped", "Felt sick after dinner"), store.error
    marked = next(i for i in store.today.items if i.key == evening.key)
    assert marked.status == "skipped"
    assert marked.reason == "Felt sick after dinner"


async def test_reading_an_assigned_article_records_the_read(
    make_client: ClientFactory, signed_in: SignedIn
) -> None:
    store, patient_id = await robert(make_client, signed_in)
    await store.load_learn(patient_id)
    assert store.learn_state is LoadState.loaded, store.error
    assert len(store.assigned) == 2
    slug = store.assigned[0].article.slug
    await store.open_article(slug)
    assert store.article is not None and store.article.slug == slug
    assert store.article.body.strip()
    assigned = next(a for a in store.assigned if a.article.slug == slug)
    assert assigned.first_read_at is not None and assigned.read_count >= 1

    again, _ = await robert(make_client, signed_in)
    await again.load_learn(patient_id)
    assert next(a for a in again.assigned if a.article.slug == slug).first_read_at is not None


async def another_patient(api: ApiClient) -> tuple[uuid.UUID, str]:
    """One of Maria's patients other than Robert (his demo plan stays as seeded)."""
    patients = PatientListStore(api)
    await patients.load()
    chosen = next(p for p in patients.patients if p.full_name != "Robert Johnson")
    return chosen.id, chosen.full_name


async def test_staff_apply_a_template_edit_and_a_stale_save_is_refused(
    make_client: ClientFactory, signed_in: SignedIn
) -> None:
    _, first, api = await signed_in_store(make_client, signed_in, MANAGER)
    patient_id, name = await another_patient(api)
    await first.open_editor(patient_id, name)
    assert {t.key for t in first.templates} >= {
        "type-2-diabetes",
        "hypertension",
        "heart-failure",
        "copd",
        "depression",
    }
    assert await first.apply_template("hypertension"), first.error
    assert first.plan is not None and first.draft is not None
    assert first.draft["activities"], "the template brings activities"
    applied = first.plan.version

    # A second care manager's screen opens the same version.
    _, second, _ = await signed_in_store(make_client, signed_in, MANAGER)
    await second.open_editor(patient_id, name)
    assert second.plan is not None and second.plan.version == applied

    first.add_goal()
    index = len(first.draft["goals"]) - 1
    first.set_field("goals", index, "title", "Walk to the mailbox and back")
    first.set_field("goals", index, "measure", "Walks a week")
    first.set_field("goals", index, "target", "5")
    first.set_field("goals", index, "due_date", "2026-12-31")
    assert await first.save_draft("Added a walking goal"), first.error
    assert first.plan.version == applied + 1
    assert first.versions[0].version == applied + 1
    assert first.versions[0].note == "Added a walking goal"

    second.set_field("", None, "summary", "A stale edit")
    assert not await second.save_draft("")
    assert second.conflict
    assert second.error == CONFLICT_MESSAGE

    await second.reload_plan()
    assert second.plan is not None and second.plan.version == applied + 1
    assert any(g["title"] == "Walk to the mailbox and back" for g in second.draft["goals"])
    second.set_field("", None, "summary", "Now on top of the newest version")
    assert await second.save_draft(""), second.error
    assert second.plan.version == applied + 2

    await second.show_diff(applied + 1)
    assert any(c.section == "goals" and c.action == "added" for c in second.diff)


async def test_a_draft_that_cannot_be_saved_says_what_is_wrong(
    make_client: ClientFactory, signed_in: SignedIn
) -> None:
    _, store, api = await signed_in_store(make_client, signed_in, MANAGER)
    patient_id, name = await another_patient(api)
    await store.open_editor(patient_id, name)
    if store.draft is None:
        store.start_blank()
    store.add_activity("medication")
    index = len(store.draft["activities"]) - 1
    store.set_field("activities", index, "drug", "Aspirin")
    store.set_field("activities", index, "dose", "81 mg")
    store.set_field("activities", index, "times", "08:00, 08:00")
    before = store.plan.version if store.plan else None
    assert not await store.save_draft("")
    assert store.error is not None and f"Activity {index + 1}" in store.error
    assert "twice" in store.error
    assert (store.plan.version if store.plan else None) == before


async def test_staff_see_adherence_per_medication(
    make_client: ClientFactory, signed_in: SignedIn
) -> None:
    _, patient_id = await robert(make_client, signed_in)
    _, store, _ = await signed_in_store(make_client, signed_in, MANAGER)
    await store.open_editor(patient_id, "Robert Johnson")
    assert set(store.adherence) == {7, 30}
    for days, report in store.adherence.items():
        assert report.days == days
        assert any("Metformin" in line.label for line in report.medications)
        line = report.overall
        assert line.done + line.skipped + line.missed <= line.expected

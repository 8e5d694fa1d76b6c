"""Care plans: Today derived across time zones and daylight-saving changes (pure), versions
and diffs, templates, adherence, bad input, reminders sent once with generic text, and the FHIR
export validated by fhir.resources."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from backend.careplans import templates
from backend.careplans.adherence import compute
from backend.careplans.models import CarePlan, CarePlanVersion, Reminder, TodayMark
from backend.careplans.reminders import ReminderScheduler, planned_reminders
from backend.careplans.service import local_today
from backend.careplans.today import derive_today, local_instant
from backend.notifications.models import Notification, PushJob
from backend.notifications.payloads import build
from shared.enums import Role
from shared.schemas.careplans import CarePlanContent
from tests import factories as f
from tests.backend.access_helpers import assert_error, audit_entries, headers_for
from tests.backend.careplan_helpers import plan_content
from tests.conftest import make_settings

NY = ZoneInfo("America/New_York")


def _plan(start: date, **kwargs) -> CarePlanContent:
    return CarePlanContent.model_validate(plan_content(start, **kwargs))


# -- Today, pure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "morning_utc", "evening_utc"),
    [
        (date(2026, 3, 7), "13:00", "01:00"),  # EST, UTC-5
        (date(2026, 3, 8), "12:00", "00:00"),  # clocks spring forward at 02:00: EDT, UTC-4
        (date(2026, 10, 31), "12:00", "00:00"),
        (date(2026, 11, 1), "13:00", "01:00"),  # clocks fall back at 02:00: EST again
    ],
)
def test_dose_times_stay_on_the_wall_clock_across_dst(day, morning_utc, evening_utc):
    items = derive_today(_plan(date(2026, 3, 1)), day, NY)
    doses = [i for i in items if i.kind == "medication"]
    assert [i.local_time for i in doses] == ["08:00", "20:00"]
    assert [i.due_at.strftime("%H:%M") for i in doses] == [morning_utc, evening_utc]
    assert doses[0].key == f"med-metformin:{day.isoformat()}:08:00"


def test_times_in_the_gap_and_the_repeated_hour():
    # 02:30 does not exist on 2026-03-08 in New York: taken as 03:30 EDT.
    assert local_instant(date(2026, 3, 8), time(2, 30), NY) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    # 01:30 happens twice on 2026-11-01: the first (EDT).
    assert local_instant(date(2026, 11, 1), time(1, 30), NY) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_an_appointment_falls_on_the_local_day_of_each_time_zone():
    at = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 22:00 May 31 in New York, 04:00 June 1 Berlin
    plan = _plan(date(2026, 5, 1), appointment_at=at)
    kinds = lambda day, zone: [i.kind for i in derive_today(plan, day, zone)]  # noqa: E731
    assert "appointment" in kinds(date(2026, 5, 31), NY)
    assert "appointment" not in kinds(date(2026, 6, 1), NY)
    assert "appointment" in kinds(date(2026, 6, 1), ZoneInfo("Europe/Berlin"))
    tokyo = derive_today(plan, date(2026, 6, 1), ZoneInfo("Asia/Tokyo"))
    assert [i.due_at.hour for i in tokyo if i.kind == "medication"] == [23, 11]  # 08:00, 20:00 JST


def test_nothing_before_the_start_and_reading_only_in_its_window():
    plan = _plan(date(2026, 5, 10))
    assert derive_today(plan, date(2026, 5, 9), NY) == []
    reading = lambda d: [i for i in derive_today(plan, d, NY) if i.kind == "education"]  # noqa: E731
    assert reading(date(2026, 5, 10)) and reading(date(2026, 5, 16))
    assert not reading(date(2026, 5, 17))


def test_adherence_counts_due_items_against_the_plan_of_each_day():
    plan = _plan(date(2026, 3, 1))
    now = datetime(2026, 3, 8, 14, 0, tzinfo=UTC)  # 10:00 EDT on the DST day
    marks = {
        "med-metformin:2026-03-07:08:00": "done",
        "med-metformin:2026-03-07:20:00": "skipped",
        "med-metformin:2026-03-08:08:00": "done",
        "walk:2026-03-07": "done",
    }
    overall, meds, other = compute(
        plan_on=lambda d: plan, marks=marks, today=date(2026, 3, 8), days=2, zone=NY, now=now
    )
    # 7th: two doses, a walk, the reading; 8th: the morning dose only (the rest not yet due)
    assert (meds[0].expected, meds[0].done, meds[0].skipped, meds[0].missed) == (3, 2, 1, 0)
    assert meds[0].rate == pytest.approx(0.667, abs=0.001)
    assert overall.expected == 5 and overall.done == 3
    assert {o.label for o in other} == {"Walk for 30 minutes", "checking-your-blood-sugar"}


def test_reminders_are_planned_in_local_time_and_quiet_hours_drop_the_push():
    plan = _plan(date(2026, 3, 1))
    start = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    found = planned_reminders(plan, None, NY, start=start, until=start + timedelta(hours=24))
    assert [(k, d.strftime("%H:%M")) for _, k, d, _ in found] == [
        ("medication", "12:00"),
        ("medication", "00:00"),
    ]

    class Quiet:
        medication_reminders = appointment_reminders = True
        appointment_lead_minutes = 60
        quiet_hours_start, quiet_hours_end = time(19, 0), time(7, 0)
        medication_times = {"med-metformin": ["09:15"]}

    found = planned_reminders(plan, Quiet(), NY, start=start, until=start + timedelta(hours=24))
    assert [(d.astimezone(NY).strftime("%H:%M"), push) for _, _, d, push in found] == [
        ("09:15", True)
    ]


def test_templates_cover_the_common_conditions_and_materialize():
    keys = set(templates.templates())
    assert {"type-2-diabetes", "heart-failure", "copd", "hypertension", "depression"} <= keys
    for key in keys:
        content = templates.materialize(key, start=date(2026, 3, 8), zone=NY)
        assert content.goals and content.activities


# -- over the API --------------------------------------------------------------------------------


async def _team(db, settings):
    org = await f.create_org(db)
    patient_user = await f.create_user(db, org, Role.patient)
    patient = await f.create_patient(db, org, user=patient_user)
    manager = await f.create_user(db, org, Role.care_manager)
    await f.add_to_team(db, patient, manager)
    outsider = await f.create_user(db, org, Role.care_manager)
    other_user = await f.create_user(db, org, Role.patient)
    other = await f.create_patient(db, org, user=other_user)
    heads = {
        "patient": await headers_for(db, settings, patient_user),
        "manager": await headers_for(db, settings, manager),
        "outsider": await headers_for(db, settings, outsider),
        "other": await headers_for(db, settings, other_user),
    }
    return patient, other, heads


async def test_template_edit_versions_diff_and_what_the_patient_sees(client, db, settings):
    patient, _, h = await _team(db, settings)
    base = f"/patients/{patient.id}/care-plan"
    assert_error(await client.get(base, headers=h["patient"]), 404, "no_plan")
    applied = await client.post(
        f"{base}/apply-template", json={"template_key": "type-2-diabetes"}, headers=h["manager"]
    )
    assert applied.status_code == 200, applied.text
    plan = applied.json()
    assert plan["version"] == 1
    drugs = [a["drug"] for a in plan["content"]["activities"] if a["kind"] == "medication"]
    assert drugs == ["Metformin"]
    assert all(a["id"] for a in plan["content"]["activities"])
    # A second apply would throw the plan away: refused unless asked for.
    again = await client.post(
        f"{base}/apply-template", json={"template_key": "copd"}, headers=h["manager"]
    )
    assert_error(again, 409, "plan_exists")

    first_look = (await client.get(base, headers=h["patient"])).json()
    assert first_look["changes_since_last_seen"] == []

    content = plan["content"]
    metformin = next(a for a in content["activities"] if a["kind"] == "medication")
    metformin["dose"] = "1000 mg, 2 tablets"
    content["goals"].append({"title": "Lose 5 pounds", "measure": "Weight", "target": "-5 lb"})
    saved = await client.put(
        base, json={"content": content, "base_version": 1, "note": "dose up"}, headers=h["manager"]
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2
    stale = await client.put(
        base, json={"content": content, "base_version": 1}, headers=h["manager"]
    )
    assert_error(stale, 409, "version_conflict")

    seen = (await client.get(base, headers=h["patient"])).json()
    changes = {(c["section"], c["action"], c["label"]) for c in seen["changes_since_last_seen"]}
    assert ("activities", "changed", "Metformin 1000 mg, 2 tablets") in changes
    assert ("goals", "added", "Lose 5 pounds") in changes
    assert (await client.get(base, headers=h["patient"])).json()["changes_since_last_seen"] == []

    versions = (await client.get(f"{base}/versions", headers=h["manager"])).json()["data"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["note"] == "dose up" and versions[0]["changed_by_name"]
    old = (await client.get(f"{base}/versions/1", headers=h["manager"])).json()
    old_dose = next(a for a in old["content"]["activities"] if a["kind"] == "medication")["dose"]
    assert old_dose == "500 mg, 1 tablet"
    diff = (await client.get(f"{base}/diff", params={"from": 1}, headers=h["manager"])).json()
    dose = next(c for c in diff["data"] if c["section"] == "activities")
    assert dose["fields"] == ["dose"]
    assert_error(await client.get(f"{base}/versions", headers=h["patient"]), 403)

    bundle = (await client.get(f"{base}/fhir", headers=h["manager"])).json()
    Bundle.model_validate(bundle)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "CarePlan"
    assert {"Condition", "Goal", "MedicationRequest", "Appointment", "Task"} <= set(types)
    med = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] ==
               "MedicationRequest")  # fmt: skip
    assert med["dosageInstruction"][0]["timing"]["repeat"]["timeOfDay"] == ["08:00:00", "20:00:00"]
    reading = (await client.get(f"/patients/{patient.id}/articles", headers=h["patient"])).json()
    assert {a["article"]["slug"] for a in reading["data"]} == {
        "living-with-type-2-diabetes",
        "checking-your-blood-sugar",
    }
    actions = {e.action for e in await audit_entries(db, patient_id=patient.id)}
    assert {"careplan.update", "careplan.read", "careplan.export"} <= actions


async def test_bad_input_is_refused_and_nothing_is_written(client, db, settings):
    patient, other, h = await _team(db, settings)
    base = f"/patients/{patient.id}/care-plan"
    start = local_today(patient)
    good = plan_content(start)

    def variant(change) -> dict:
        import copy

        content = copy.deepcopy(good)
        change(content["activities"][0])
        return {"content": content}

    cases = [
        variant(lambda a: a.update(end_date=(start - timedelta(days=1)).isoformat())),
        variant(lambda a: a.update(times=[])),
        variant(lambda a: a.update(times=["08:00", "08:00"])),
        variant(lambda a: a.update(strength_mg=500)),
        variant(lambda a: a.update(article_slug="x")),
        {"content": {**good, "activities": [{**good["activities"][3], "article_slug": "nope"}]}},
    ]
    for body in cases:
        response = await client.put(base, json=body, headers=h["manager"])
        assert response.status_code == 422, (body, response.text)
    assert_error(await client.put(base, json={"content": good}, headers=h["outsider"]), 403)
    assert_error(await client.put(base, json={"content": good}, headers=h["patient"]), 403)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CarePlan)) == 0
        assert await session.scalar(select(func.count()).select_from(CarePlanVersion)) == 0

    assert (await client.put(base, json={"content": good}, headers=h["manager"])).status_code == 200
    key = f"walk:{start.isoformat()}"
    # Someone else's patient: not found for them. An item not on the plan: 404. A skip: reason.
    other_mark = await client.post(
        f"/patients/{patient.id}/today/marks", json={"item_key": key, "status": "done"},
        headers=h["other"],
    )  # fmt: skip
    assert_error(other_mark, 404)
    own_other = await client.post(
        f"/patients/{other.id}/today/marks", json={"item_key": key, "status": "done"},
        headers=h["other"],
    )  # fmt: skip
    assert_error(own_other, 404, "no_such_item")
    no_reason = await client.post(
        f"/patients/{patient.id}/today/marks", json={"item_key": key, "status": "skipped"},
        headers=h["patient"],
    )  # fmt: skip
    assert_error(no_reason, 422)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(TodayMark)) == 0


async def test_today_marks_and_adherence_over_the_api(client, db, settings):
    patient, _, h = await _team(db, settings)
    start = local_today(patient) - timedelta(days=2)
    await client.put(
        f"/patients/{patient.id}/care-plan", json={"content": plan_content(start)},
        headers=h["manager"],
    )  # fmt: skip
    # The plan was written three days ago (adherence judges each day by the plan then).
    async with db.session() as session:
        version = await session.scalar(select(CarePlanVersion))
        version.changed_at = datetime.now(UTC) - timedelta(days=3)
        await session.commit()
    yesterday = (local_today(patient) - timedelta(days=1)).isoformat()
    today = (
        await client.get(f"/patients/{patient.id}/today", params={"date": yesterday},
                         headers=h["patient"])
    ).json()  # fmt: skip
    doses = [i for i in today["items"] if i["kind"] == "medication"]
    assert len(doses) == 2 and all(i["overdue"] for i in doses)
    done = await client.post(
        f"/patients/{patient.id}/today/marks",
        json={"item_key": doses[0]["key"], "status": "done"}, headers=h["patient"],
    )  # fmt: skip
    assert done.json()["status"] == "done"
    skipped = await client.post(
        f"/patients/{patient.id}/today/marks",
        json={"item_key": doses[1]["key"], "status": "skipped", "reason": "Felt sick"},
        headers=h["patient"],
    )  # fmt: skip
    assert skipped.json()["reason"] == "Felt sick"
    report = (
        await client.get(f"/patients/{patient.id}/adherence", params={"days": 7},
                         headers=h["manager"])
    ).json()  # fmt: skip
    metformin = report["medications"][0]
    assert metformin["done"] == 1 and metformin["skipped"] == 1
    assert metformin["expected"] >= 2
    assert report["days"] == 7
    assert_error(await client.get(f"/patients/{patient.id}/adherence", headers=h["patient"]), 403)


async def test_education_search_assign_and_read(client, db, settings):
    patient, _, h = await _team(db, settings)
    found = (await client.get("/articles", params={"q": "inhaler"}, headers=h["patient"])).json()
    assert found["data"][0]["slug"] == "using-your-inhaler"
    assert found["count"] >= 1
    hf = (await client.get("/articles", params={"condition": "heart failure"},
                           headers=h["patient"])).json()  # fmt: skip
    assert {a["slug"] for a in hf["data"]} >= {"heart-failure-daily-weight"}
    everything = (await client.get("/articles", headers=h["manager"])).json()
    assert everything["count"] >= 12
    assert_error(await client.get("/articles/nope", headers=h["patient"]), 404)
    url = f"/patients/{patient.id}/articles"
    assigned = await client.post(
        url, json={"article_slug": "low-blood-sugar"}, headers=h["manager"]
    )
    assert assigned.status_code == 201, assigned.text
    again = await client.post(url, json={"article_slug": "low-blood-sugar"}, headers=h["manager"])
    assert again.status_code == 200
    assert_error(await client.post(url, json={"article_slug": "low-blood-sugar"},
                                   headers=h["outsider"]), 403)  # fmt: skip
    article = (await client.get("/articles/low-blood-sugar", headers=h["patient"])).json()
    assert article["body"].startswith("# Low blood sugar")
    read = await client.post(f"{url}/low-blood-sugar/read", headers=h["patient"])
    assert read.json()["read_count"] == 1
    listing = (await client.get(url, headers=h["manager"])).json()["data"]
    assert listing[0]["first_read_at"] is not None and listing[0]["read_count"] == 1
    async with db.session() as session:
        pushes = (await session.scalars(select(PushJob))).all()
    assert len(pushes) == 1 and pushes[0].category == "education"


async def test_reminders_are_sent_once_with_generic_text(db, settings):
    org = await f.create_org(db)
    patient_user = await f.create_user(db, org, Role.patient)
    patient = await f.create_patient(db, org, user=patient_user)
    manager = await f.create_user(db, org, Role.care_manager)
    await f.add_to_team(db, patient, manager)
    from tests.backend.careplan_helpers import save_plan

    await save_plan(db, patient.id, manager, plan_content(local_today(patient) - timedelta(days=1)))
    scheduler = ReminderScheduler(db, make_settings(settings.database_url), name="test")
    now = datetime.now(UTC)
    planned, sent = await scheduler.run_once(now)
    assert planned >= 2 and sent == 0
    assert (await scheduler.run_once(now))[0] == 0  # planning again writes nothing new
    async with db.session() as session:
        due = sorted({r.due_at for r in (await session.scalars(select(Reminder))).all()})
    sent = 0
    for instant in due[:4]:
        sent += await scheduler.drain(instant + timedelta(minutes=1))
        assert await scheduler.drain(instant + timedelta(minutes=1)) == 0  # never twice
    assert sent == 4
    async with db.session() as session:
        reminders = (await session.scalars(select(Reminder))).all()
        jobs = (await session.scalars(select(PushJob).where(PushJob.category == "reminders"))).all()
        notes = (
            await session.scalars(select(Notification).where(Notification.category == "reminders"))
        ).all()
    sent_rows = [r for r in reminders if r.status == "sent"]
    assert len(jobs) == len(sent_rows) == len(notes)
    for job in jobs:
        text = build(job, 1).body
        assert text == "You have a reminder"
        assert "Metformin" not in job.title + job.body and "diabetes" not in job.body.lower()

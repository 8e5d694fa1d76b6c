"""Care-team membership decides staff access, read fresh on every request; emergency
(break-glass) access opens a record for a limited time, loudly."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from backend.careteam.models import BreakGlassAccess, CareTeamMember
from backend.core.types import utcnow
from shared.enums import AccessBasis, AuditOutcome, Role
from tests import factories as f
from tests.backend.access_helpers import assert_error, audit_entries, headers_for, set_columns
from tests.backend.scenario import World, build_world

REASON = "Patient arrived in the ED unconscious; need medication list."


@pytest.fixture
async def world(db) -> World:
    return await build_world(db)


def _patient_url(world: World) -> str:
    return f"/patients/{world.patient.id}"


# --- membership decides access -------------------------------------------------------------


async def test_staff_see_a_patient_only_while_on_the_team(client, db, settings, world):
    headers = await headers_for(db, settings, world.navigator)
    assert (await client.get(_patient_url(world), headers=headers)).json()["access"] == "care_team"

    await set_columns(
        db, CareTeamMember, world.navigator_membership.id, end_at=utcnow() - timedelta(seconds=1)
    )

    error = assert_error(await client.get(_patient_url(world), headers=headers), 403, "forbidden")
    assert "care team" in error["message"]
    assert (await client.get("/patients", headers=headers)).json()["data"] == []


async def test_a_membership_that_has_not_started_gives_no_access(client, db, settings, world):
    await set_columns(
        db, CareTeamMember, world.navigator_membership.id, start_at=utcnow() + timedelta(hours=1)
    )
    headers = await headers_for(db, settings, world.navigator)
    assert_error(await client.get(_patient_url(world), headers=headers), 403)
    assert (await client.get("/patients", headers=headers)).json()["data"] == []


async def test_a_membership_with_a_future_end_gives_access_until_then(client, db, settings, world):
    await set_columns(
        db, CareTeamMember, world.navigator_membership.id, end_at=utcnow() + timedelta(hours=1)
    )
    headers = await headers_for(db, settings, world.navigator)
    assert (await client.get(_patient_url(world), headers=headers)).status_code == 200


async def test_staff_off_the_team_are_refused(client, db, settings, world):
    for who in ("other_team_staff", "admin"):
        headers = await headers_for(db, settings, world.users[who])
        assert_error(await client.get(_patient_url(world), headers=headers), 403, "forbidden")


async def test_staff_of_another_organization_do_not_learn_the_record_exists(
    client, db, settings, world
):
    headers = await headers_for(db, settings, world.foreign_staff)
    refused = await client.get(_patient_url(world), headers=headers)
    unknown = await client.get(f"/patients/{uuid.uuid4()}", headers=headers)
    assert assert_error(refused, 404) == assert_error(unknown, 404)


# --- the care manager manages the team -----------------------------------------------------


async def test_care_manager_adds_a_member_whose_access_starts_at_once(client, db, settings, world):
    manager = await headers_for(db, settings, world.care_manager)
    newcomer = await headers_for(db, settings, world.other_staff)
    assert_error(await client.get(_patient_url(world), headers=newcomer), 403)

    added = await client.post(
        f"{_patient_url(world)}/care-team",
        headers=manager,
        json={"user_id": str(world.other_staff.id), "team_role": "social_worker"},
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["user_id"] == str(world.other_staff.id)
    assert body["team_role"] == "social_worker"
    assert body["user_role"] == "navigator"
    assert body["end_at"] is None

    detail = await client.get(_patient_url(world), headers=newcomer)
    assert detail.status_code == 200
    assert detail.json()["access"] == "care_team"
    team = await client.get(f"{_patient_url(world)}/care-team", headers=manager)
    assert str(world.other_staff.id) in {m["user_id"] for m in team.json()["data"]}

    [entry] = await audit_entries(db, action="careteam.add")
    assert entry.actor_id == world.care_manager.id
    assert entry.patient_id == world.patient.id
    assert entry.detail["user_id"] == str(world.other_staff.id)


async def test_care_manager_ends_a_membership_and_access_ends_at_once(client, db, settings, world):
    manager = await headers_for(db, settings, world.care_manager)
    navigator = await headers_for(db, settings, world.navigator)
    assert (await client.get(_patient_url(world), headers=navigator)).status_code == 200
    url = f"{_patient_url(world)}/care-team/{world.navigator_membership.id}"

    assert (await client.delete(url, headers=manager)).status_code == 204

    assert_error(await client.get(_patient_url(world), headers=navigator), 403)
    assert_error(await client.delete(url, headers=manager), 409, "already_ended")
    # Staff keep seeing the history; family see only the current team.
    staff_view = await client.get(f"{_patient_url(world)}/care-team", headers=manager)
    past = {m["user_id"]: m for m in staff_view.json()["data"]}[str(world.navigator.id)]
    assert past["end_at"] is not None
    family = await headers_for(db, settings, world.family_full)
    family_view = await client.get(f"{_patient_url(world)}/care-team", headers=family)
    assert str(world.navigator.id) not in {m["user_id"] for m in family_view.json()["data"]}
    [entry] = await audit_entries(db, action="careteam.remove")
    assert entry.actor_id == world.care_manager.id


async def test_a_member_can_be_added_again_after_their_membership_ended(
    client, db, settings, world
):
    manager = await headers_for(db, settings, world.care_manager)
    await client.delete(
        f"{_patient_url(world)}/care-team/{world.navigator_membership.id}", headers=manager
    )
    again = await client.post(
        f"{_patient_url(world)}/care-team",
        headers=manager,
        json={"user_id": str(world.navigator.id), "team_role": "navigator"},
    )
    assert again.status_code == 201, again.text
    navigator = await headers_for(db, settings, world.navigator)
    assert (await client.get(_patient_url(world), headers=navigator)).status_code == 200


async def test_only_active_staff_of_the_organization_can_join(client, db, settings, world):
    inactive = await f.create_user(db, world.org, Role.clinician, is_active=False)
    candidates = {
        "family": world.family_full.id,
        "patient": world.patient_user.id,
        "admin": world.admin.id,
        "another organization's staff": world.foreign_staff.id,
        "inactive staff": inactive.id,
        "nobody": uuid.uuid4(),
    }
    manager = await headers_for(db, settings, world.care_manager)
    for who, user_id in candidates.items():
        refused = await client.post(
            f"{_patient_url(world)}/care-team",
            headers=manager,
            json={"user_id": str(user_id), "team_role": "navigator"},
        )
        error = assert_error(refused, 422, "invalid_member")
        assert error["fields"][0]["field"] == "body.user_id", who
    async with db.session() as session:
        added = await session.scalar(
            select(CareTeamMember.id).where(CareTeamMember.user_id.in_(candidates.values()))
        )
    assert added is None


async def test_adding_a_current_member_again_conflicts(client, db, settings, world):
    manager = await headers_for(db, settings, world.care_manager)
    refused = await client.post(
        f"{_patient_url(world)}/care-team",
        headers=manager,
        json={"user_id": str(world.navigator.id), "team_role": "navigator"},
    )
    error = assert_error(refused, 409, "already_member")
    assert world.navigator.full_name in error["message"]
    assert await audit_entries(db, action="careteam.add") == []


async def test_a_membership_cannot_end_in_the_past(client, db, settings, world):
    manager = await headers_for(db, settings, world.care_manager)
    refused = await client.post(
        f"{_patient_url(world)}/care-team",
        headers=manager,
        json={
            "user_id": str(world.other_staff.id),
            "team_role": "navigator",
            "end_at": (utcnow() - timedelta(hours=1)).isoformat(),
        },
    )
    assert_error(refused, 422, "invalid_member")


async def test_only_the_care_manager_changes_the_team(client, db, settings, world):
    for who in ("navigator", "clinician", "patient", "family_full", "other_team_staff"):
        headers = await headers_for(db, settings, world.users[who])
        added = await client.post(
            f"{_patient_url(world)}/care-team",
            headers=headers,
            json={"user_id": str(world.other_staff.id), "team_role": "navigator"},
        )
        assert added.status_code == 403, (who, added.text)
        assert_error(added, 403)
        ended = await client.delete(
            f"{_patient_url(world)}/care-team/{world.care_manager_membership.id}",
            headers=headers,
        )
        assert ended.status_code == 403, (who, ended.text)
        assert_error(ended, 403)
    assert await audit_entries(db, action="careteam.add") == []
    async with db.session() as session:
        membership = await session.get(CareTeamMember, world.care_manager_membership.id)
    assert membership.end_at is None


async def test_ending_an_unknown_membership_is_not_found(client, db, settings, world):
    manager = await headers_for(db, settings, world.care_manager)
    other_team = await f.add_to_team(db, world.other_patient, world.navigator)
    for member_id in (uuid.uuid4(), other_team.id):
        response = await client.delete(
            f"{_patient_url(world)}/care-team/{member_id}", headers=manager
        )
        assert_error(response, 404, "not_found")


# --- emergency access (break-glass) --------------------------------------------------------


async def test_a_clinician_off_the_team_is_told_about_emergency_access(client, db, settings, world):
    clinician = await f.create_user(db, world.org, Role.clinician)
    headers = await headers_for(db, settings, clinician)
    error = assert_error(await client.get(_patient_url(world), headers=headers), 403)
    assert "emergency access" in error["message"]
    # A navigator cannot break the glass, so is not offered it.
    navigator = await headers_for(db, settings, world.other_staff)
    error = assert_error(await client.get(_patient_url(world), headers=navigator), 403)
    assert "emergency" not in error["message"]


async def test_break_glass_opens_the_record_audits_it_and_tells_the_care_manager(
    client, db, settings, world
):
    clinician = await f.create_user(db, world.org, Role.clinician)
    headers = await headers_for(db, settings, clinician)
    before = utcnow()

    opened = await client.post(
        f"{_patient_url(world)}/break-glass", headers=headers, json={"reason": REASON}
    )
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["patient_id"] == str(world.patient.id)
    assert body["user_id"] == str(clinician.id)
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=59) < expires - before <= timedelta(minutes=61)

    detail = await client.get(_patient_url(world), headers=headers)
    assert detail.status_code == 200, detail.text
    assert detail.json()["access"] == "emergency"
    assert detail.json()["emergency_access_expires_at"] is not None
    listed = await client.get("/patients", headers=headers)
    assert [(p["id"], p["access"]) for p in listed.json()["data"]] == [
        (str(world.patient.id), "emergency")
    ]

    [read] = await audit_entries(db, action="patient.read", actor_id=clinician.id)
    assert read.access_basis == AccessBasis.emergency
    assert read.patient_id == world.patient.id
    [emergency] = await audit_entries(db, action="patient.emergency_access")
    assert emergency.actor_id == clinician.id
    assert emergency.patient_id == world.patient.id
    assert emergency.access_basis == AccessBasis.emergency
    assert emergency.outcome == AuditOutcome.success

    manager = await headers_for(db, settings, world.care_manager)
    notes = (await client.get("/notifications", headers=manager)).json()["data"]
    assert len(notes) == 1
    note = notes[0]
    assert note["category"] == "security"
    assert note["urgent"] is True
    text = f"{note['title']} {note['body']}"
    for name in ("Rosa", "Patient", world.patient.mrn, "Type 2 diabetes"):
        assert name not in text
    # Only the team's care manager is told; the navigator and the clinician who opened it are not.
    for user in (world.navigator, clinician):
        others = await client.get("/notifications", headers=await headers_for(db, settings, user))
        assert others.json()["data"] == []


async def test_break_glass_does_not_make_one_a_team_manager(client, db, settings, world):
    outsider = await f.create_user(db, world.org, Role.care_manager)
    headers = await headers_for(db, settings, outsider)
    opened = await client.post(
        f"{_patient_url(world)}/break-glass", headers=headers, json={"reason": REASON}
    )
    assert opened.status_code == 201
    added = await client.post(
        f"{_patient_url(world)}/care-team",
        headers=headers,
        json={"user_id": str(outsider.id), "team_role": "care_manager"},
    )
    assert_error(added, 403)


async def test_break_glass_needs_a_real_reason(client, db, settings, world):
    clinician = await f.create_user(db, world.org, Role.clinician)
    headers = await headers_for(db, settings, clinician)
    # Padding with blanks does not make a reason long enough.
    for reason in ("", "urgent", "x" * 14, " " * 20, "  too short    ", "x" * 1001):
        refused = await client.post(
            f"{_patient_url(world)}/break-glass", headers=headers, json={"reason": reason}
        )
        assert refused.status_code == 422, (reason, refused.text)
        assert_error(refused, 422, "validation_error")
    assert_error(await client.get(_patient_url(world), headers=headers), 403)
    async with db.session() as session:
        assert await session.scalar(select(BreakGlassAccess.id)) is None


async def test_only_clinicians_and_care_managers_can_break_the_glass(client, db, settings, world):
    refused_roles = ("other_team_staff", "family_full", "admin", "patient")
    for who in refused_roles:
        headers = await headers_for(db, settings, world.users[who])
        refused = await client.post(
            f"{_patient_url(world)}/break-glass", headers=headers, json={"reason": REASON}
        )
        assert refused.status_code == 403, (who, refused.text)
        assert_error(refused, 403, "forbidden")
    entries = await audit_entries(db, action="access.role_denied")
    assert [(e.actor_id, e.outcome) for e in entries] == [
        (world.users[who].id, AuditOutcome.denied) for who in refused_roles
    ]
    assert await audit_entries(db, action="patient.emergency_access") == []


async def test_break_glass_when_already_on_the_team_conflicts(client, db, settings, world):
    headers = await headers_for(db, settings, world.clinician)
    refused = await client.post(
        f"{_patient_url(world)}/break-glass", headers=headers, json={"reason": REASON}
    )
    assert_error(refused, 409, "already_member")
    assert await audit_entries(db, action="patient.emergency_access") == []


async def test_break_glass_is_refused_for_another_organizations_patient(
    client, db, settings, world
):
    headers = await headers_for(db, settings, world.foreign_staff)
    refused = await client.post(
        f"{_patient_url(world)}/break-glass", headers=headers, json={"reason": REASON}
    )
    assert_error(refused, 404, "not_found")
    unknown = await client.post(
        f"/patients/{uuid.uuid4()}/break-glass", headers=headers, json={"reason": REASON}
    )
    assert_error(unknown, 404, "not_found")


async def test_emergency_access_ends_when_it_expires(client, db, settings, world):
    clinician = await f.create_user(db, world.org, Role.clinician)
    headers = await headers_for(db, settings, clinician)
    opened = await client.post(
        f"{_patient_url(world)}/break-glass", headers=headers, json={"reason": REASON}
    )
    assert (await client.get(_patient_url(world), headers=headers)).status_code == 200

    await set_columns(
        db,
        BreakGlassAccess,
        uuid.UUID(opened.json()["id"]),
        expires_at=utcnow() - timedelta(seconds=1),
    )

    error = assert_error(await client.get(_patient_url(world), headers=headers), 403)
    assert "emergency access" in error["message"]
    assert (await client.get("/patients", headers=headers)).json()["data"] == []


async def test_a_scheduled_membership_counts_as_already_on_the_team(client, db, settings):
    """A colleague whose membership starts next week cannot be added a second time."""
    world = await build_world(db)
    await f.add_to_team(db, world.patient, world.other_staff, start_at=utcnow() + timedelta(days=7))
    response = await client.post(
        f"/patients/{world.patient.id}/care-team",
        json={"user_id": str(world.other_staff.id), "team_role": "navigator"},
        headers=await headers_for(db, settings, world.care_manager),
    )
    assert_error(response, 409, "already_member")

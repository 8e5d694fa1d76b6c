"""The audit trail: what is recorded, the hash chain that makes tampering visible, the admin
API, and no PHI in application logs."""

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.audit.chain import compute_hash, verify_chain
from backend.core.config import PROJECT_ROOT
from backend.core.db import Database
from backend.core.types import utcnow
from shared.enums import AccessBasis, AuditOutcome, GrantScope, Role
from tests import factories as f
from tests.backend.access_helpers import assert_error, audit_entries, headers_for
from tests.backend.scenario import World, build_world
from tests.live_server import TEST_SECRET

USER_AGENT = "CareCircle-Tests/1.0"


@pytest.fixture
async def world(db) -> World:
    return await build_world(db)


def _agent(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "User-Agent": USER_AGENT}


# --- what is recorded ----------------------------------------------------------------------


async def test_a_read_is_recorded_with_who_what_which_patient_and_from_where(
    client, db, settings, world
):
    headers = _agent(await headers_for(db, settings, world.care_manager))
    before = utcnow()
    assert (await client.get(f"/patients/{world.patient.id}", headers=headers)).status_code == 200

    [entry] = await audit_entries(db, action="patient.read")
    assert entry.actor_id == world.care_manager.id
    assert entry.actor_role == Role.care_manager
    assert entry.organization_id == world.org.id
    assert entry.patient_id == world.patient.id
    assert entry.resource_type == "patient"
    assert entry.resource_id == str(world.patient.id)
    assert entry.outcome == AuditOutcome.success
    assert entry.access_basis == AccessBasis.care_team
    assert entry.on_behalf_of_id is None
    assert entry.ip == "127.0.0.1"
    assert entry.user_agent == USER_AGENT
    assert before - timedelta(seconds=1) <= entry.occurred_at <= utcnow()


async def test_a_write_is_recorded(client, db, settings, world):
    headers = _agent(await headers_for(db, settings, world.navigator))
    created = await client.post(
        "/patients",
        headers=headers,
        json={"given_name": "Nora", "family_name": "New", "birth_date": "1970-05-05"},
    )
    assert created.status_code == 201, created.text

    [entry] = await audit_entries(db, action="patient.create")
    assert entry.actor_id == world.navigator.id
    assert entry.patient_id == uuid.UUID(created.json()["id"])
    assert entry.outcome == AuditOutcome.success
    assert entry.access_basis == AccessBasis.care_team
    assert entry.ip == "127.0.0.1"
    # Identifiers only: the name written is not copied into the trail.
    assert "Nora" not in str(entry.detail)


async def test_a_patient_list_records_one_entry_per_patient_shown(client, db, settings, world):
    second = await f.create_patient(db, world.org)
    await f.add_to_team(db, second, world.care_manager)
    headers = await headers_for(db, settings, world.care_manager)
    assert (await client.get("/patients", headers=headers)).json()["count"] == 2

    entries = await audit_entries(db, action="patient.list")
    assert {e.patient_id for e in entries} == {world.patient.id, second.id}
    assert {e.access_basis for e in entries} == {AccessBasis.care_team}


async def test_a_denied_access_is_recorded_as_denied(client, db, settings, world):
    headers = await headers_for(db, settings, world.other_staff)
    assert_error(await client.get(f"/patients/{world.patient.id}", headers=headers), 403)

    [entry] = await audit_entries(db, outcome=AuditOutcome.denied)
    assert entry.action == "patient.access_denied"
    assert entry.actor_id == world.other_staff.id
    assert entry.patient_id == world.patient.id
    assert entry.ip == "127.0.0.1"
    assert await audit_entries(db, action="patient.read") == []


async def test_a_denied_stranger_is_recorded_without_linking_the_patient(
    client, db, settings, world
):
    headers = await headers_for(db, settings, world.foreign_staff)
    assert_error(await client.get(f"/patients/{world.patient.id}", headers=headers), 404)

    [entry] = await audit_entries(db, outcome=AuditOutcome.denied)
    assert entry.actor_id == world.foreign_staff.id
    assert entry.resource_id == str(world.patient.id)


async def test_family_reads_record_whom_they_act_for(client, db, settings, world):
    headers = await headers_for(db, settings, world.family_full)
    assert (await client.get("/patients", headers=headers)).status_code == 200
    assert (await client.get(f"/patients/{world.patient.id}", headers=headers)).status_code == 200

    entries = await audit_entries(db, actor_id=world.family_full.id)
    assert [e.action for e in entries] == ["patient.list", "patient.read"]
    for entry in entries:
        assert entry.on_behalf_of_id == world.patient.id, entry.action
        assert entry.access_basis == AccessBasis.proxy
        assert entry.patient_id == world.patient.id


async def test_sign_in_success_failure_and_sign_out_are_recorded(client, db, world):
    tokens = await f.login(client, world.care_manager)
    refused = await client.post(
        "/auth/login", json={"email": world.care_manager.email, "password": "Wrong-Password-99"}
    )
    assert_error(refused, 401, "invalid_credentials")
    assert (await client.post("/auth/logout", headers=f.bearer(tokens))).status_code == 204

    logins = await audit_entries(db, action="auth.login", actor_id=world.care_manager.id)
    assert [e.outcome for e in logins] == [AuditOutcome.success, AuditOutcome.failure]
    assert all(e.ip == "127.0.0.1" for e in logins)
    [revoked] = await audit_entries(db, action="auth.revoke", actor_id=world.care_manager.id)
    assert revoked.outcome == AuditOutcome.success
    assert "Wrong-Password-99" not in str([e.detail for e in logins])


async def test_a_refused_write_leaves_no_success_entry(client, db, settings, world):
    manager = await headers_for(db, settings, world.care_manager)
    conflict = await client.post(
        f"/patients/{world.patient.id}/care-team",
        headers=manager,
        json={"user_id": str(world.navigator.id), "team_role": "navigator"},
    )
    assert_error(conflict, 409)
    assert await audit_entries(db, action="careteam.add") == []


# --- the hash chain ------------------------------------------------------------------------


async def _some_traffic(client, db, settings, world) -> None:
    manager = await headers_for(db, settings, world.care_manager)
    family = await headers_for(db, settings, world.family_full)
    stranger = await headers_for(db, settings, world.other_staff)
    await client.get(f"/patients/{world.patient.id}", headers=manager)
    await client.get("/patients", headers=manager)
    await client.get(f"/patients/{world.patient.id}", headers=family)
    await client.get(f"/patients/{world.patient.id}", headers=stranger)
    await client.get(f"/patients/{world.patient.id}/care-team", headers=manager)
    assert len(await audit_entries(db)) >= 5


async def _api_verify(client, db, settings, world) -> dict:
    admin = await headers_for(db, settings, world.admin)
    response = await client.get("/audit/verify", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def _cli_verify(db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": TEST_SECRET, "ENV": "test"}
    return subprocess.run(
        [sys.executable, "-m", "backend", "audit", "verify"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _tamper(db: Database, statement: str, **params: object) -> None:
    """Run a statement on audit_entry with the append-only trigger out of the way, as someone
    with the database owner's rights could."""
    async with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            # Transactional DDL: the trigger is off only inside this transaction.
            await connection.execute(
                text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
            )
            await connection.execute(text(statement), params)
            await connection.execute(
                text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
            )
        else:
            await connection.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_update"))
            await connection.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_delete"))
            await connection.execute(text(statement), params)


async def test_an_intact_chain_verifies_over_the_api_and_the_cli(
    client, db, settings, world, db_url
):
    await _some_traffic(client, db, settings, world)
    count = len(await audit_entries(db))

    report = await _api_verify(client, db, settings, world)
    assert report == {"ok": True, "checked": count, "first_broken_id": None, "problem": None}
    result = _cli_verify(db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact" in result.stdout
    # The API's own check was audited, so the CLI saw one entry more.
    assert f"{count + 1} entries checked" in result.stdout


async def test_a_changed_entry_is_reported_as_the_first_broken_link(
    client, db, settings, world, db_url
):
    await _some_traffic(client, db, settings, world)
    target = (await audit_entries(db))[2].id

    await _tamper(db, "UPDATE audit_entry SET action = 'patient.nothing' WHERE id = :id", id=target)

    report = await _api_verify(client, db, settings, world)
    assert report["ok"] is False
    assert report["first_broken_id"] == target
    assert report["checked"] == target - 1
    assert "hash" in report["problem"]
    result = _cli_verify(db_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"BROKEN at entry {target}:" in result.stdout


async def test_a_deleted_entry_is_detected(client, db, settings, world, db_url):
    await _some_traffic(client, db, settings, world)
    target = (await audit_entries(db))[3].id

    await _tamper(db, "DELETE FROM audit_entry WHERE id = :id", id=target)

    report = await _api_verify(client, db, settings, world)
    assert report["ok"] is False
    assert report["first_broken_id"] == target
    assert "missing" in report["problem"]
    result = _cli_verify(db_url)
    assert result.returncode == 1
    assert f"BROKEN at entry {target}:" in result.stdout


async def test_a_rehashed_forgery_breaks_the_next_link(client, db, settings, world):
    """Recomputing the forged row's own hash does not help: the next entry still points at the
    original."""
    await _some_traffic(client, db, settings, world)
    entries = await audit_entries(db)
    forged = entries[1]
    forged.outcome = AuditOutcome.denied.value
    new_hash = compute_hash(forged)

    await _tamper(
        db,
        "UPDATE audit_entry SET outcome = 'denied', entry_hash = :h WHERE id = :id",
        h=new_hash,
        id=forged.id,
    )

    async with db.session() as session:
        report = await verify_chain(session)
    assert (report.ok, report.first_broken_id) == (False, entries[2].id)
    assert "link" in (report.problem or "")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET outcome = 'success' WHERE id = 1",
        "DELETE FROM audit_entry WHERE id = 1",
    ],
    ids=["update", "delete"],
)
async def test_the_database_refuses_to_change_entries(client, db, settings, world, statement):
    await _some_traffic(client, db, settings, world)
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.engine.begin() as connection:
            await connection.execute(text(statement))
    async with db.session() as session:
        assert (await verify_chain(session)).ok


async def test_concurrent_requests_leave_an_intact_contiguous_chain(client, db, settings, world):
    manager = await headers_for(db, settings, world.care_manager)
    family = await headers_for(db, settings, world.family_full)
    url = f"/patients/{world.patient.id}"

    responses = await asyncio.gather(
        *(client.get(url, headers=manager if i % 2 else family) for i in range(20)),
        *(client.get("/patients", headers=manager) for _ in range(5)),
    )

    assert [r.status_code for r in responses] == [200] * 25
    entries = await audit_entries(db)
    assert [e.id for e in entries] == list(range(1, len(entries) + 1))
    assert len([e for e in entries if e.action == "patient.read"]) == 20
    assert len([e for e in entries if e.action == "patient.list"]) == 5
    async with db.session() as session:
        report = await verify_chain(session)
    assert report.ok, report
    assert report.checked == len(entries)


# --- the admin API -------------------------------------------------------------------------


async def test_admin_filters_the_trail(client, db, settings, world):
    await _some_traffic(client, db, settings, world)
    admin = await headers_for(db, settings, world.admin)

    by_patient = await client.get(
        "/audit", headers=admin, params={"patient_id": str(world.patient.id)}
    )
    assert by_patient.status_code == 200
    rows = by_patient.json()["data"]
    assert rows and {r["patient_id"] for r in rows} == {str(world.patient.id)}
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)

    by_action = await client.get("/audit", headers=admin, params={"action": "patient.read"})
    expected = {e.id for e in await audit_entries(db, action="patient.read")}
    assert {r["id"] for r in by_action.json()["data"]} == expected

    denied = await client.get("/audit", headers=admin, params={"outcome": "denied"})
    [row] = denied.json()["data"]
    assert row["actor_id"] == str(world.other_staff.id)
    assert row["action"] == "patient.access_denied"

    both = await client.get(
        "/audit",
        headers=admin,
        params={"actor_id": str(world.family_full.id), "action": "patient.read"},
    )
    [row] = both.json()["data"]
    assert row["on_behalf_of_id"] == str(world.patient.id)
    assert row["access_basis"] == "proxy"

    future = await client.get(
        "/audit", headers=admin, params={"since": (utcnow() + timedelta(hours=1)).isoformat()}
    )
    assert future.json() == {"data": [], "next_cursor": None}


async def test_admin_pages_through_the_trail_with_the_cursor(client, db, settings, world):
    await _some_traffic(client, db, settings, world)
    manager = await headers_for(db, settings, world.care_manager)
    for _ in range(4):
        await client.get(f"/patients/{world.patient.id}", headers=manager)
    expected = [e.id for e in await audit_entries(db, action="patient.read")][::-1]
    assert len(expected) >= 6
    admin = await headers_for(db, settings, world.admin)

    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"action": "patient.read", "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get("/audit", headers=admin, params=params)).json()
        assert len(page["data"]) <= 2
        seen += [row["id"] for row in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


async def test_admin_sees_only_their_own_organizations_trail(client, db, settings, world):
    await _some_traffic(client, db, settings, world)
    foreign_org = await f.create_org(db, "Elsewhere Clinic")
    foreign_admin = await f.create_user(db, foreign_org, Role.admin)
    headers = await headers_for(db, settings, foreign_admin)
    response = await client.get(
        "/audit", headers=headers, params={"patient_id": str(world.patient.id)}
    )
    assert response.json()["data"] == []


async def test_reading_the_trail_is_itself_recorded(client, db, settings, world):
    admin = await headers_for(db, settings, world.admin)
    await client.get("/audit", headers=admin, params={"patient_id": str(world.patient.id)})
    [entry] = await audit_entries(db, action="audit.query")
    assert entry.actor_id == world.admin.id
    assert entry.patient_id == world.patient.id


async def test_only_admins_read_the_trail(client, db, settings, world):
    refused_roles = ("care_manager", "navigator", "clinician", "patient", "family_full")
    for who in (*refused_roles, "foreign_staff"):
        headers = await headers_for(db, settings, world.users[who])
        assert_error(await client.get("/audit", headers=headers), 403, "forbidden")
        assert_error(await client.get("/audit/verify", headers=headers), 403, "forbidden")
    entries = await audit_entries(db, action="access.role_denied")
    assert [(e.actor_id, e.outcome) for e in entries] == [
        (world.users[who].id, "denied")
        for who in (*refused_roles, "foreign_staff")
        for _ in range(2)
    ]
    assert await audit_entries(db, action="audit.query") == []


async def test_the_trail_needs_a_signed_in_admin(client):
    assert_error(await client.get("/audit"), 401, "not_authenticated")
    assert_error(await client.get("/audit/verify"), 401, "not_authenticated")


# --- no PHI in application logs ------------------------------------------------------------


async def test_no_phi_reaches_the_application_logs(client, db, settings, world, caplog):
    caplog.set_level(logging.DEBUG)
    # As if an operator turned on SQL logging to chase a problem.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    manager = await f.login(client, world.care_manager)
    await client.post(
        "/auth/login", json={"email": world.navigator.email, "password": "Wrong-Password-99"}
    )
    created = await client.post(
        "/patients",
        headers=f.bearer(manager),
        json={
            "given_name": "Zebediah",
            "family_name": "Quixote",
            "birth_date": "1950-02-02",
            "phone": "+1 555 0199",
            "conditions": [{"display": "Hereditary angioedema"}],
        },
    )
    assert created.status_code == 201, created.text
    # A refused body with PHI in it, and a read of each patient, by staff and by family.
    await client.post(
        "/patients",
        headers=f.bearer(manager),
        json={"given_name": "Zebediah", "family_name": "Quixote", "birth_date": "tomorrow"},
    )
    await client.get(f"/patients/{created.json()['id']}", headers=f.bearer(manager))
    await client.get(f"/patients/{world.patient.id}", headers=f.bearer(manager))
    family = await headers_for(db, settings, world.family_full)
    await client.get(f"/patients/{world.patient.id}", headers=family)
    await client.patch(
        f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}",
        headers=await headers_for(db, settings, world.patient_user),
        json={"scopes": [GrantScope.messages.value]},
    )

    assert any("/patients" in record.getMessage() for record in caplog.records), (
        "the capture saw no request at all"
    )
    secrets = [
        "Rosa",
        "Zebediah",
        "Quixote",
        "angioedema",
        "Type 2 diabetes",
        "555 0199",
        f.PASSWORD,
        "Wrong-Password-99",
    ]
    for record in caplog.records:
        logged = " ".join(
            [record.getMessage(), repr(record.args), record.exc_text or "", str(record.__dict__)]
        )
        leaked = [s for s in secrets if s in logged]
        assert not leaked, f"{record.name} logged {leaked}: {record.getMessage()[:300]}"

"""Family access (consent): deny by default, scopes, expiry, and revocation that takes effect on
the very next request."""

import uuid
from datetime import timedelta
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI

from backend.careteam.access import PatientAccess
from backend.careteam.models import ProxyGrant
from backend.careteam.permissions import patient_access
from backend.core.types import utcnow
from backend.main import create_app
from shared.enums import AccessBasis, AuditOutcome, GrantScope, Role
from tests import factories as f
from tests.backend.access_helpers import assert_error, audit_entries, headers_for, set_columns
from tests.backend.scenario import World, build_world


def _scope_probe(scope: GrantScope):
    async def probe(
        access: Annotated[PatientAccess, Depends(patient_access(scope=scope))],
    ) -> dict[str, object]:
        return {"basis": access.basis, "scopes": sorted(access.scopes)}

    return probe


@pytest.fixture
def scoped_app(app: FastAPI) -> FastAPI:
    return app


@pytest.fixture
def app(settings, db) -> FastAPI:
    """Replaces the shared app in this module (which must stay as shipped): a fresh app plus a
    test-only route per scope, guarded by `patient_access(scope=...)`:
    GET /api/v1/test-scope/{scope}/{patient_id}."""
    app = create_app(settings)
    app.state.db = db
    router = APIRouter(prefix="/api/v1/test-scope")
    for scope in GrantScope:
        router.add_api_route(f"/{scope.value}/{{patient_id}}", _scope_probe(scope), methods=["GET"])
    app.include_router(router)
    return app


@pytest.fixture
async def world(db) -> World:
    return await build_world(db)


# --- deny by default -----------------------------------------------------------------------


async def test_family_with_a_grant_sees_the_patient_in_list_and_detail(client, db, settings, world):
    headers = await headers_for(db, settings, world.family_full)

    listed = await client.get("/patients", headers=headers)
    assert listed.status_code == 200
    assert [(p["id"], p["access"]) for p in listed.json()["data"]] == [
        (str(world.patient.id), "proxy")
    ]
    detail = await client.get(f"/patients/{world.patient.id}", headers=headers)
    assert detail.status_code == 200
    assert detail.json()["access"] == "proxy"
    assert detail.json()["full_name"] == "Rosa Patient"


async def test_family_without_any_grant_sees_nothing(client, db, settings, world):
    stranger = await f.create_user(db, world.org, Role.family, name="No Grant")
    headers = await headers_for(db, settings, stranger)

    listed = await client.get("/patients", headers=headers)
    assert listed.status_code == 200
    assert listed.json() == {"data": [], "count": 0}
    refused = await client.get(f"/patients/{world.patient.id}", headers=headers)
    error = assert_error(refused, 404, "not_found")
    # The same answer as for an id that does not exist: nothing tells a stranger a record is there.
    unknown = await client.get(f"/patients/{uuid.uuid4()}", headers=headers)
    assert assert_error(unknown, 404, "not_found") == error
    assert "Rosa" not in refused.text


async def test_a_grant_for_one_patient_gives_nothing_on_another(client, db, settings, world):
    headers = await headers_for(db, settings, world.family_full)

    refused = await client.get(f"/patients/{world.other_patient.id}", headers=headers)
    assert_error(refused, 404, "not_found")
    listed = await client.get("/patients", headers=headers)
    assert str(world.other_patient.id) not in {p["id"] for p in listed.json()["data"]}
    care_team = await client.get(f"/patients/{world.other_patient.id}/care-team", headers=headers)
    assert_error(care_team, 404)


async def test_a_family_member_lists_everyone_who_shared_with_them(client, db, settings, world):
    second = await f.create_patient(db, world.org, given_name="Ana", family_name="Aardvark")
    await f.create_grant(db, second, world.family_full, [GrantScope.messages])
    headers = await headers_for(db, settings, world.family_full)

    listed = await client.get("/patients", headers=headers)
    assert {p["id"] for p in listed.json()["data"]} == {str(world.patient.id), str(second.id)}
    assert listed.json()["count"] == 2


async def test_family_cannot_see_who_else_has_access(client, db, settings, world):
    headers = await headers_for(db, settings, world.family_full)
    refused = await client.get(f"/patients/{world.patient.id}/proxy-grants", headers=headers)
    assert_error(refused, 403, "forbidden")


async def test_the_patient_lists_their_grants(client, db, settings, world):
    headers = await headers_for(db, settings, world.patient_user)
    response = await client.get(f"/patients/{world.patient.id}/proxy-grants", headers=headers)
    assert response.status_code == 200
    grants = {g["grantee_id"]: g for g in response.json()["data"]}
    assert grants[str(world.family_full.id)]["active"] is True
    assert grants[str(world.family_limited.id)]["scopes"] == ["care_plan"]
    assert grants[str(world.family_expired.id)]["active"] is False


# --- scopes --------------------------------------------------------------------------------


async def test_scope_not_granted_is_refused_naming_what_was_not_shared(
    scoped_app, client, db, settings, world
):
    headers = await headers_for(db, settings, world.family_limited)

    refused = await client.get(f"/test-scope/messages/{world.patient.id}", headers=headers)
    error = assert_error(refused, 403, "forbidden")
    assert "messages" in error["message"]
    assert "not shared" in error["message"]

    allowed = await client.get(f"/test-scope/care_plan/{world.patient.id}", headers=headers)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {"basis": "proxy", "scopes": ["care_plan"]}

    denied = await audit_entries(db, actor_id=world.family_limited.id, outcome="denied")
    assert [(e.action, e.patient_id) for e in denied] == [
        ("patient.access_denied", world.patient.id)
    ]


async def test_each_scope_admits_only_a_grant_that_includes_it(
    scoped_app, client, db, settings, world
):
    for scope in GrantScope:
        with_scope = await f.create_user(db, world.org, Role.family)
        without_scope = await f.create_user(db, world.org, Role.family)
        await f.create_grant(db, world.patient, with_scope, [scope])
        await f.create_grant(
            db, world.patient, without_scope, [s for s in GrantScope if s != scope]
        )

        allowed = await client.get(
            f"/test-scope/{scope.value}/{world.patient.id}",
            headers=await headers_for(db, settings, with_scope),
        )
        assert allowed.status_code == 200, (scope, allowed.text)
        refused = await client.get(
            f"/test-scope/{scope.value}/{world.patient.id}",
            headers=await headers_for(db, settings, without_scope),
        )
        error = assert_error(refused, 403)
        assert scope.value.replace("_", " ") in error["message"], scope


async def test_scopes_constrain_family_only(scoped_app, client, db, settings, world):
    """The patient and the care team reach every scope; scopes are what a proxy was given."""
    for user in (world.patient_user, world.care_manager, world.navigator, world.family_full):
        headers = await headers_for(db, settings, user)
        for scope in GrantScope:
            response = await client.get(
                f"/test-scope/{scope.value}/{world.patient.id}", headers=headers
            )
            assert response.status_code == 200, (user.full_name, scope, response.text)


async def test_scopes_of_a_revoked_grant_do_not_count(scoped_app, client, db, settings, world):
    await f.create_grant(
        db, world.patient, world.family_limited, [GrantScope.messages], revoked_at=utcnow()
    )
    headers = await headers_for(db, settings, world.family_limited)

    refused = await client.get(f"/test-scope/messages/{world.patient.id}", headers=headers)
    assert_error(refused, 403)
    allowed = await client.get(f"/test-scope/care_plan/{world.patient.id}", headers=headers)
    assert allowed.status_code == 200


async def test_scoped_route_still_refuses_people_without_access(
    scoped_app, client, db, settings, world
):
    family_headers = await headers_for(db, settings, world.family_full)
    refused = await client.get(
        f"/test-scope/messages/{world.other_patient.id}", headers=family_headers
    )
    assert_error(refused, 404)
    staff_headers = await headers_for(db, settings, world.other_staff)
    refused = await client.get(f"/test-scope/messages/{world.patient.id}", headers=staff_headers)
    assert_error(refused, 403)


# --- expiry --------------------------------------------------------------------------------


async def test_an_expired_grant_gives_no_access(client, db, settings, world):
    headers = await headers_for(db, settings, world.family_expired)

    refused = await client.get(f"/patients/{world.patient.id}", headers=headers)
    error = assert_error(refused, 404)
    assert "ended" in error["message"]
    listed = await client.get("/patients", headers=headers)
    assert listed.json()["data"] == []
    me = await client.get("/me", headers=headers)
    assert me.json()["proxies"] == []


async def test_a_grant_stops_working_on_the_request_after_it_expires(client, db, settings, world):
    headers = await headers_for(db, settings, world.family_full)
    await set_columns(db, ProxyGrant, world.grant_full.id, expires_at=utcnow() + timedelta(hours=1))

    assert (await client.get(f"/patients/{world.patient.id}", headers=headers)).status_code == 200
    me = await client.get("/me", headers=headers)
    assert [p["patient_id"] for p in me.json()["proxies"]] == [str(world.patient.id)]

    await set_columns(
        db, ProxyGrant, world.grant_full.id, expires_at=utcnow() - timedelta(seconds=1)
    )

    assert_error(await client.get(f"/patients/{world.patient.id}", headers=headers), 404)
    assert (await client.get("/patients", headers=headers)).json()["data"] == []
    assert (await client.get("/me", headers=headers)).json()["proxies"] == []


# --- revocation and changes by the patient -------------------------------------------------


async def test_revocation_takes_effect_on_the_very_next_request(
    scoped_app, client, db, settings, world
):
    family = await headers_for(db, settings, world.family_full)
    patient = await headers_for(db, settings, world.patient_user)
    assert (await client.get(f"/patients/{world.patient.id}", headers=family)).status_code == 200

    revoked = await client.delete(
        f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}", headers=patient
    )
    assert revoked.status_code == 204, revoked.text

    # Same access token, next request: gone everywhere.
    assert_error(await client.get(f"/patients/{world.patient.id}", headers=family), 404)
    assert_error(await client.get(f"/test-scope/messages/{world.patient.id}", headers=family), 404)
    assert (await client.get("/patients", headers=family)).json()["data"] == []
    assert (await client.get("/me", headers=family)).json()["proxies"] == []

    grants = await client.get(f"/patients/{world.patient.id}/proxy-grants", headers=patient)
    listed = {g["id"]: g for g in grants.json()["data"]}[str(world.grant_full.id)]
    assert listed["active"] is False
    assert listed["revoked_at"] is not None

    entries = await audit_entries(db, action="consent.revoke")
    assert len(entries) == 1
    assert entries[0].actor_id == world.patient_user.id
    assert entries[0].patient_id == world.patient.id
    assert entries[0].resource_id == str(world.grant_full.id)
    assert entries[0].access_basis == AccessBasis.self
    assert entries[0].outcome == AuditOutcome.success


async def test_narrowing_scopes_takes_effect_at_once(scoped_app, client, db, settings, world):
    family = await headers_for(db, settings, world.family_full)
    patient = await headers_for(db, settings, world.patient_user)
    assert (
        await client.get(f"/test-scope/messages/{world.patient.id}", headers=family)
    ).status_code == 200

    changed = await client.patch(
        f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}",
        headers=patient,
        json={"scopes": ["care_plan", "care_plan"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["scopes"] == ["care_plan"]
    assert changed.json()["active"] is True

    assert_error(await client.get(f"/test-scope/messages/{world.patient.id}", headers=family), 403)
    assert (
        await client.get(f"/test-scope/care_plan/{world.patient.id}", headers=family)
    ).status_code == 200
    me = await client.get("/me", headers=family)
    assert me.json()["proxies"][0]["scopes"] == ["care_plan"]

    entries = await audit_entries(db, action="consent.update")
    assert len(entries) == 1
    assert entries[0].actor_id == world.patient_user.id
    assert entries[0].resource_id == str(world.grant_full.id)
    assert entries[0].detail["scopes"] == ["care_plan"]
    assert sorted(entries[0].detail["before"]["scopes"]) == sorted(s.value for s in GrantScope)


async def test_the_patient_can_set_and_clear_an_end_date(client, db, settings, world):
    family = await headers_for(db, settings, world.family_full)
    patient = await headers_for(db, settings, world.patient_user)
    url = f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}"
    until = (utcnow() + timedelta(days=30)).isoformat()

    changed = await client.patch(url, headers=patient, json={"expires_at": until})
    assert changed.status_code == 200
    assert changed.json()["expires_at"] is not None
    me = await client.get("/me", headers=family)
    assert me.json()["proxies"][0]["expires_at"] is not None

    cleared = await client.patch(url, headers=patient, json={"expires_at": None})
    assert cleared.status_code == 200
    assert cleared.json()["expires_at"] is None
    # Scopes untouched by a change of the end date only.
    assert sorted(cleared.json()["scopes"]) == sorted(s.value for s in GrantScope)


async def test_invalid_grant_changes_are_refused_and_change_nothing(client, db, settings, world):
    patient = await headers_for(db, settings, world.patient_user)
    for body, code in [
        ({"scopes": []}, "invalid_grant"),
        ({"scopes": ["diary"]}, "validation_error"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "invalid_grant"),
        # Without a zone the moment is ambiguous (and comparing it used to be a 500).
        ({"expires_at": "2999-01-01T00:00:00"}, "validation_error"),
        ({"scopes": ["messages"], "expires_at": "2001-01-01T00:00:00Z"}, "invalid_grant"),
    ]:
        response = await client.patch(
            f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}",
            headers=patient,
            json=body,
        )
        assert_error(response, 422, code)
    async with db.session() as session:
        grant = await session.get(ProxyGrant, world.grant_full.id)
    assert sorted(grant.scopes) == sorted(s.value for s in GrantScope)
    assert grant.expires_at is None
    assert await audit_entries(db, action="consent.update") == []


async def test_a_withdrawn_grant_cannot_be_edited_back_to_life(client, db, settings, world):
    patient = await headers_for(db, settings, world.patient_user)
    url = f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}"
    assert (await client.delete(url, headers=patient)).status_code == 204
    assert_error(
        await client.patch(url, headers=patient, json={"scopes": ["messages"]}),
        409,
        "grant_revoked",
    )
    family = await headers_for(db, settings, world.family_full)
    assert_error(await client.get(f"/patients/{world.patient.id}", headers=family), 404)


async def test_family_cannot_revoke_or_edit_grants(client, db, settings, world):
    family = await headers_for(db, settings, world.family_full)
    url = f"/patients/{world.patient.id}/proxy-grants/{world.grant_limited.id}"

    assert_error(await client.delete(url, headers=family), 403)
    assert_error(await client.patch(url, headers=family, json={"scopes": ["messages"]}), 403)
    own = f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}"
    assert_error(await client.patch(own, headers=family, json={"scopes": list(GrantScope)}), 403)

    async with db.session() as session:
        grant = await session.get(ProxyGrant, world.grant_limited.id)
    assert grant.revoked_at is None
    assert grant.scopes == ["care_plan"]
    assert await audit_entries(db, action="consent.revoke") == []


async def test_the_care_manager_can_revoke_but_not_edit(client, db, settings, world):
    manager = await headers_for(db, settings, world.care_manager)
    url = f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}"

    assert_error(await client.patch(url, headers=manager, json={"scopes": ["messages"]}), 403)
    assert (await client.delete(url, headers=manager)).status_code == 204
    assert (await client.delete(url, headers=manager)).status_code == 204  # idempotent

    family = await headers_for(db, settings, world.family_full)
    assert_error(await client.get(f"/patients/{world.patient.id}", headers=family), 404)
    [entry] = await audit_entries(db, action="consent.revoke")
    assert entry.actor_id == world.care_manager.id
    assert entry.access_basis == AccessBasis.care_team
    async with db.session() as session:
        grant = await session.get(ProxyGrant, world.grant_full.id)
    assert grant.revoked_by_id == world.care_manager.id


async def test_other_staff_cannot_revoke(client, db, settings, world):
    url = f"/patients/{world.patient.id}/proxy-grants/{world.grant_full.id}"
    for who in ("navigator", "clinician", "other_team_staff", "admin", "foreign_staff"):
        headers = await headers_for(db, settings, world.users[who])
        response = await client.delete(url, headers=headers)
        assert response.status_code in (403, 404), (who, response.text)
        assert_error(response, response.status_code)
    assert await audit_entries(db, action="consent.revoke") == []
    family = await headers_for(db, settings, world.family_full)
    assert (await client.get(f"/patients/{world.patient.id}", headers=family)).status_code == 200


async def test_a_grant_is_reached_only_through_its_own_patient(client, db, settings, world):
    """Another patient cannot withdraw this patient's grant by putting its id under their own
    record."""
    other = await headers_for(db, settings, world.other_patient_user)
    url = f"/patients/{world.other_patient.id}/proxy-grants/{world.grant_full.id}"
    assert_error(await client.delete(url, headers=other), 404)
    assert_error(await client.patch(url, headers=other, json={"scopes": ["messages"]}), 404)
    family = await headers_for(db, settings, world.family_full)
    assert (await client.get(f"/patients/{world.patient.id}", headers=family)).status_code == 200

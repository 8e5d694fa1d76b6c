"""Invitations: staff invite staff, staff invite a patient to their record, a patient invites
family with chosen scopes; accepting creates the account (or adds a grant to an existing family
account) and signs in."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from backend.audit.models import AuditEntry
from backend.careteam.models import ProxyGrant
from backend.core.db import Database
from backend.core.security import token_digest
from backend.core.types import utcnow
from backend.identity.models import Invitation, User
from backend.patients.models import Patient
from shared.enums import Role
from tests import factories as f
from tests.backend.scenario import World, build_world

NEW_PASSWORD = "Welcome-Aboard-2024"


# --- helpers -------------------------------------------------------------------------------


def error_of(response: httpx.Response) -> dict[str, str]:
    return response.json()["error"]


async def invite(
    client: httpx.AsyncClient, inviter: User, body: dict, *, patient_id: object = None
) -> httpx.Response:
    tokens = await f.login(client, inviter)
    path = f"/patients/{patient_id}/invitations" if patient_id else "/invitations"
    return await client.post(path, json=body, headers=f.bearer(tokens))


async def invite_ok(client: httpx.AsyncClient, inviter: User, body: dict, **kwargs: object) -> dict:
    response = await invite(client, inviter, body, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


async def accept(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD, **extra: object
) -> httpx.Response:
    return await client.post(
        "/auth/invitations/accept", json={"token": token, "password": password, **extra}
    )


def family_body(email: str, **overrides: object) -> dict:
    return {
        "email": email,
        "role": "family",
        "full_name": "Dana Daughter",
        "relationship": "daughter",
        "scopes": ["messages", "care_plan"],
        **overrides,
    }


async def set_invitation(db: Database, invitation_id: str, **values: object) -> None:
    async with db.session() as session:
        await session.execute(
            update(Invitation).where(Invitation.id == uuid.UUID(invitation_id)).values(**values)
        )
        await session.commit()


async def grants_of(db: Database, grantee_id: uuid.UUID | str) -> list[ProxyGrant]:
    async with db.session() as session:
        statement = select(ProxyGrant).where(ProxyGrant.grantee_id == uuid.UUID(str(grantee_id)))
        return list((await session.scalars(statement)).all())


async def unlinked_patient(db: Database, world: World) -> Patient:
    """A patient record with no account yet, on the care manager's team."""
    patient = await f.create_patient(db, world.org, given_name="Nora", family_name="Newcomer")
    await f.add_to_team(db, patient, world.care_manager)
    return patient


# --- staff ---------------------------------------------------------------------------------


async def test_staff_invites_staff_and_acceptance_signs_in(client, db):
    world = await build_world(db)

    created = await invite_ok(
        client,
        world.care_manager,
        {"email": "New.Colleague@Clinic.Example", "role": "care_manager", "full_name": "Nia New"},
    )

    assert created["email"] == "new.colleague@clinic.example"
    assert created["role"] == "care_manager"
    assert created["accepted_at"] is None and created["revoked_at"] is None
    assert "token_hash" not in created and len(created["token"]) >= 20
    response = await accept(client, created["token"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["email"] == "new.colleague@clinic.example"
    assert body["user"]["role"] == "care_manager"
    assert body["user"]["full_name"] == "Nia New"
    assert body["user"]["organization"]["id"] == str(world.org.id)
    me = await client.get("/me", headers=f.bearer(body))
    assert me.status_code == 200 and me.json()["id"] == body["user"]["id"]
    assert (
        await client.post("/auth/refresh", json={"refresh_token": body["refresh_token"]})
    ).status_code == 200
    # The new colleague signs in with the password they chose, whatever the email's case.
    again = await client.post(
        "/auth/login", json={"email": "New.Colleague@clinic.example", "password": NEW_PASSWORD}
    )
    assert again.status_code == 200
    async with db.session() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert {"invitation.create", "invitation.accept"} <= set(actions)


async def test_invitee_may_choose_the_name_on_the_account(client, db):
    world = await build_world(db)
    created = await invite_ok(
        client, world.admin, {"email": "dr.b@clinic.example", "role": "clinician", "full_name": "B"}
    )

    response = await accept(client, created["token"], full_name="Dr. Beatrice Bloom")

    assert response.json()["user"]["full_name"] == "Dr. Beatrice Bloom"


async def test_administrator_may_invite_an_administrator(client, db):
    world = await build_world(db)

    created = await invite_ok(
        client,
        world.admin,
        {"email": "second.admin@clinic.example", "role": "admin", "full_name": "Ad"},
    )

    assert (await accept(client, created["token"])).json()["user"]["role"] == "admin"


async def test_navigator_cannot_invite_an_administrator(client, db):
    world = await build_world(db)

    response = await invite(
        client,
        world.navigator,
        {"email": "sneaky@clinic.example", "role": "admin", "full_name": "S"},
    )

    assert response.status_code == 403
    assert "administrator" in error_of(response)["message"]


@pytest.mark.parametrize("role", ["care_manager", "clinician"])
async def test_navigator_cannot_invite_roles_with_emergency_access(client, db, role):
    world = await build_world(db)

    response = await invite(
        client, world.navigator, {"email": "alt@clinic.example", "role": role, "full_name": "A"}
    )

    assert response.status_code == 403
    assert "emergency access" in error_of(response)["message"]


async def test_navigator_may_invite_a_navigator(client, db):
    world = await build_world(db)

    created = await invite_ok(
        client,
        world.navigator,
        {"email": "nav2@clinic.example", "role": "navigator", "full_name": "N"},
    )

    assert (await accept(client, created["token"])).json()["user"]["role"] == "navigator"


@pytest.mark.parametrize("who", ["patient_user", "family_full"])
async def test_patients_and_family_cannot_invite_staff(client, db, who):
    world = await build_world(db)

    response = await invite(
        client,
        getattr(world, who),
        {"email": "x@clinic.example", "role": "navigator", "full_name": "X"},
    )

    assert response.status_code == 403


@pytest.mark.parametrize("role", ["patient", "family"])
async def test_patients_and_family_are_invited_from_the_record_not_as_staff(client, db, role):
    world = await build_world(db)

    response = await invite(
        client, world.care_manager, {"email": "y@clinic.example", "role": role, "full_name": "Y"}
    )

    assert (response.status_code, error_of(response)["code"]) == (422, "wrong_invitation_route")
    assert "/patients/" in error_of(response)["message"]


# --- patient -------------------------------------------------------------------------------


async def test_patient_invitation_links_the_record_on_acceptance(client, db):
    world = await build_world(db)
    patient = await unlinked_patient(db, world)

    created = await invite_ok(
        client,
        world.care_manager,
        {"email": "nora@home.example", "role": "patient", "full_name": "Nora Newcomer"},
        patient_id=patient.id,
    )
    response = await accept(client, created["token"])

    assert created["patient_id"] == str(patient.id)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["user"]["role"] == "patient"
    assert tokens["user"]["patient_id"] == str(patient.id)
    me = await client.get("/me", headers=f.bearer(tokens))
    assert me.json()["patient_id"] == str(patient.id)
    record = await client.get(f"/patients/{patient.id}", headers=f.bearer(tokens))
    assert record.status_code == 200, record.text
    # The record now has its account: a second patient invitation is refused.
    again = await invite(
        client,
        world.care_manager,
        {"email": "nora2@home.example", "role": "patient", "full_name": "Nora"},
        patient_id=patient.id,
    )
    assert (again.status_code, error_of(again)["code"]) == (409, "patient_has_account")


async def test_patient_cannot_invite_a_patient(client, db):
    world = await build_world(db)

    response = await invite(
        client,
        world.patient_user,
        {"email": "friend@home.example", "role": "patient", "full_name": "Friend"},
        patient_id=world.patient.id,
    )

    assert response.status_code == 403


async def test_staff_off_the_care_team_cannot_invite_for_the_patient(client, db):
    world = await build_world(db)
    patient = await unlinked_patient(db, world)

    response = await invite(
        client,
        world.other_staff,
        {"email": "nora@home.example", "role": "patient", "full_name": "Nora"},
        patient_id=patient.id,
    )

    assert response.status_code == 403


async def test_a_record_only_accepts_the_patient_or_family_roles(client, db):
    world = await build_world(db)

    response = await invite(
        client,
        world.care_manager,
        {"email": "z@clinic.example", "role": "navigator", "full_name": "Z"},
        patient_id=world.patient.id,
    )

    assert (response.status_code, error_of(response)["code"]) == (422, "wrong_invitation_route")


# --- family --------------------------------------------------------------------------------


async def test_patient_invites_family_with_scopes_and_acceptance_creates_the_grant(client, db):
    world = await build_world(db)
    expires = (utcnow() + timedelta(days=30)).replace(microsecond=0)

    created = await invite_ok(
        client,
        world.patient_user,
        family_body("dana@home.example", grant_expires_at=expires.isoformat()),
        patient_id=world.patient.id,
    )
    response = await accept(client, created["token"])

    assert created["scopes"] == ["care_plan", "messages"]
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["user"]["role"] == "family"
    me = (await client.get("/me", headers=f.bearer(tokens))).json()
    assert len(me["proxies"]) == 1
    proxy = me["proxies"][0]
    assert proxy["patient_id"] == str(world.patient.id)
    assert proxy["patient_name"] == "Rosa Patient"
    assert proxy["relationship"] == "daughter"
    assert sorted(proxy["scopes"]) == ["care_plan", "messages"]
    assert proxy["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M:%S"))
    [grant] = await grants_of(db, tokens["user"]["id"])
    assert grant.patient_id == world.patient.id
    assert grant.granted_by_id == world.patient_user.id
    assert sorted(grant.scopes) == ["care_plan", "messages"]
    # The grant is what opens the record.
    record = await client.get(f"/patients/{world.patient.id}", headers=f.bearer(tokens))
    assert record.status_code == 200, record.text
    async with db.session() as session:
        consent = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "consent.grant"))
        ).all()
    assert [(e.patient_id, e.detail["scopes"]) for e in consent] == [
        (world.patient.id, ["care_plan", "messages"])
    ]


async def test_staff_may_invite_family_on_the_patients_behalf(client, db):
    world = await build_world(db)

    created = await invite_ok(
        client,
        world.care_manager,
        family_body("son@home.example", relationship="son"),
        patient_id=world.patient.id,
    )
    tokens = (await accept(client, created["token"])).json()

    [grant] = await grants_of(db, tokens["user"]["id"])
    assert (grant.relationship, grant.granted_by_id) == ("son", world.care_manager.id)


async def test_family_member_cannot_invite_more_family(client, db):
    world = await build_world(db)

    response = await invite(
        client, world.family_full, family_body("cousin@home.example"), patient_id=world.patient.id
    )

    assert response.status_code == 403


async def test_existing_family_account_accepts_with_its_password_and_gains_a_second_proxy(
    client, db
):
    world = await build_world(db)
    created = await invite_ok(
        client,
        world.other_patient_user,
        family_body(world.family_full.email.upper(), relationship="niece", scopes=["education"]),
        patient_id=world.other_patient.id,
    )

    wrong = await accept(client, created["token"], password="Not-Fiona-Password")
    assert (wrong.status_code, error_of(wrong)["code"]) == (401, "invalid_credentials")
    assert len(await grants_of(db, world.family_full.id)) == 1

    response = await accept(client, created["token"], password=f.PASSWORD, full_name="Someone Else")

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["user"]["id"] == str(world.family_full.id)
    assert tokens["user"]["full_name"] == "Fiona Family"
    me = (await client.get("/me", headers=f.bearer(tokens))).json()
    by_patient = {p["patient_id"]: p for p in me["proxies"]}
    assert set(by_patient) == {str(world.patient.id), str(world.other_patient.id)}
    assert by_patient[str(world.other_patient.id)]["scopes"] == ["education"]
    assert by_patient[str(world.other_patient.id)]["relationship"] == "niece"
    # The password did not change.
    login = await client.post(
        "/auth/login", json={"email": world.family_full.email, "password": f.PASSWORD}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"relationship": None}, "relationship"),
        ({"grant_expires_at": "2001-01-01T00:00:00Z"}, "future"),
        ({"scopes": ["everything"]}, "scopes"),
    ],
)
async def test_family_invitation_needs_scopes_relationship_and_a_future_end(
    client, db, change, field
):
    world = await build_world(db)

    response = await invite(
        client,
        world.patient_user,
        family_body("dana@home.example", **change),
        patient_id=world.patient.id,
    )

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert field in error["message"] or field in str(error["fields"])


# --- refusals on acceptance ----------------------------------------------------------------


async def test_unknown_invitation_token_is_not_found(client):
    response = await accept(client, "this-token-was-never-issued-by-anyone")

    assert (response.status_code, error_of(response)["code"]) == (404, "invitation_invalid")
    assert "not valid" in error_of(response)["message"]


async def test_expired_invitation_is_gone(client, db):
    world = await build_world(db)
    created = await invite_ok(
        client, world.admin, {"email": "late@clinic.example", "role": "navigator", "full_name": "L"}
    )
    await set_invitation(db, created["id"], expires_at=utcnow() - timedelta(seconds=1))

    response = await accept(client, created["token"])

    assert (response.status_code, error_of(response)["code"]) == (410, "invitation_expired")
    assert "expired" in error_of(response)["message"]
    assert (
        await client.post(
            "/auth/login", json={"email": "late@clinic.example", "password": NEW_PASSWORD}
        )
    ).status_code == 401


async def test_withdrawn_invitation_is_gone(client, db):
    world = await build_world(db)
    created = await invite_ok(
        client, world.patient_user, family_body("dana@home.example"), patient_id=world.patient.id
    )
    tokens = await f.login(client, world.patient_user)
    withdrawn = await client.delete(f"/invitations/{created['id']}", headers=f.bearer(tokens))
    assert withdrawn.status_code == 204

    response = await accept(client, created["token"])

    assert (response.status_code, error_of(response)["code"]) == (410, "invitation_revoked")
    assert "withdrawn" in error_of(response)["message"]


async def test_a_new_invitation_to_the_same_person_replaces_the_pending_one(client, db):
    world = await build_world(db)
    body = {"email": "twice@clinic.example", "role": "navigator", "full_name": "T"}
    first = await invite_ok(client, world.care_manager, body)
    second = await invite_ok(client, world.care_manager, body)

    old = await accept(client, first["token"])
    new = await accept(client, second["token"])

    assert (old.status_code, error_of(old)["code"]) == (410, "invitation_revoked")
    assert new.status_code == 200


async def test_used_invitation_is_gone(client, db):
    world = await build_world(db)
    created = await invite_ok(
        client, world.admin, {"email": "once@clinic.example", "role": "clinician", "full_name": "O"}
    )
    assert (await accept(client, created["token"])).status_code == 200

    response = await accept(client, created["token"], password="Another-Password-99")

    assert (response.status_code, error_of(response)["code"]) == (410, "invitation_used")
    assert "already used" in error_of(response)["message"]


async def test_weak_password_is_refused_and_the_invitation_stays_usable(client, db):
    world = await build_world(db)
    created = await invite_ok(
        client,
        world.admin,
        {"email": "harold@clinic.example", "role": "navigator", "full_name": "H"},
    )

    weak = await accept(client, created["token"], password="harold-is-my-name")
    short = await accept(client, created["token"], password="short")

    assert (weak.status_code, error_of(weak)["code"]) == (422, "weak_password")
    assert "email" in error_of(weak)["message"]
    assert short.status_code == 422
    assert (await accept(client, created["token"])).status_code == 200


# --- email already taken -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taken_by", "route"),
    [("care_manager", "staff"), ("navigator", "patient"), ("other_patient_user", "family")],
)
async def test_inviting_an_email_that_has_an_account_is_a_conflict(client, db, taken_by, route):
    world = await build_world(db)
    email = getattr(world, taken_by).email.upper()
    if route == "staff":
        body, patient_id = {"email": email, "role": "clinician", "full_name": "C"}, None
    elif route == "patient":
        body = {"email": email, "role": "patient", "full_name": "P"}
        patient_id = (await unlinked_patient(db, world)).id
    else:
        body, patient_id = family_body(email), world.patient.id

    response = await invite(client, world.care_manager, body, patient_id=patient_id)

    assert (response.status_code, error_of(response)["code"]) == (409, "email_taken")
    assert "already exists" in error_of(response)["message"]


async def test_email_taken_between_invitation_and_acceptance_is_a_conflict(client, db):
    world = await build_world(db)
    patient = await unlinked_patient(db, world)
    as_patient = await invite_ok(
        client,
        world.care_manager,
        {"email": "both@home.example", "role": "patient", "full_name": "B"},
        patient_id=patient.id,
    )
    as_staff = await invite_ok(
        client, world.admin, {"email": "both@home.example", "role": "navigator", "full_name": "B"}
    )
    assert (await accept(client, as_staff["token"])).status_code == 200

    response = await accept(client, as_patient["token"])

    assert (response.status_code, error_of(response)["code"]) == (409, "email_taken")
    async with db.session() as session:
        refreshed = await session.get(Patient, patient.id)
    assert refreshed.user_id is None


async def test_family_account_of_another_clinic_cannot_accept(client, db):
    world = await build_world(db)
    elsewhere = await f.create_org(db, "Hillside Clinic")
    stranger = await f.create_user(db, elsewhere, Role.family)
    created = await invite_ok(
        client, world.patient_user, family_body(stranger.email), patient_id=world.patient.id
    )

    response = await accept(client, created["token"], password=f.PASSWORD)

    assert (response.status_code, error_of(response)["code"]) == (409, "email_taken")
    assert await grants_of(db, stranger.id) == []


# --- who sees which invitations ------------------------------------------------------------


async def test_invitation_lists_are_scoped_to_who_may_see_them(client, db):
    world = await build_world(db)
    staff_invite = await invite_ok(
        client, world.admin, {"email": "s@clinic.example", "role": "navigator", "full_name": "S"}
    )
    family_invite = await invite_ok(
        client, world.patient_user, family_body("dana@home.example"), patient_id=world.patient.id
    )

    async def listed(user: User) -> set[str]:
        tokens = await f.login(client, user)
        response = await client.get("/invitations", headers=f.bearer(tokens))
        assert response.status_code == 200
        assert all("token" not in item for item in response.json()["data"])
        return {item["id"] for item in response.json()["data"]}

    assert await listed(world.care_manager) == {staff_invite["id"], family_invite["id"]}
    assert await listed(world.admin) == {staff_invite["id"]}
    assert await listed(world.patient_user) == {family_invite["id"]}
    assert await listed(world.other_patient_user) == set()
    assert await listed(world.foreign_staff) == set()


async def test_only_those_who_see_an_invitation_may_withdraw_it(client, db):
    world = await build_world(db)
    created = await invite_ok(
        client, world.patient_user, family_body("dana@home.example"), patient_id=world.patient.id
    )

    for outsider in (world.other_patient_user, world.foreign_staff):
        tokens = await f.login(client, outsider)
        response = await client.delete(f"/invitations/{created['id']}", headers=f.bearer(tokens))
        assert response.status_code == 404
    assert (await accept(client, created["token"])).status_code == 200
    tokens = await f.login(client, world.patient_user)
    late = await client.delete(f"/invitations/{created['id']}", headers=f.bearer(tokens))
    assert (late.status_code, error_of(late)["code"]) == (409, "invitation_used")


async def test_only_the_digest_of_an_invitation_token_is_stored(client, db):
    world = await build_world(db)
    created = await invite_ok(
        client, world.admin, {"email": "d@clinic.example", "role": "navigator", "full_name": "D"}
    )

    async with db.session() as session:
        stored = await session.get(Invitation, uuid.UUID(created["id"]))

    assert stored.token_hash == token_digest(created["token"])
    assert created["token"] not in stored.token_hash

"""The demo organization: what the seed creates, that it is idempotent, and that the demo logins
work with the demo password."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from backend.careteam.models import CareTeamMember, ProxyGrant
from backend.core.db import Database
from backend.demo import data
from backend.demo.seed import DemoLogin, seed
from backend.identity.models import Organization, User
from backend.patients.models import Patient, PatientCondition
from tests.backend.access_helpers import assert_error

DOMAIN_TABLES = (Organization, User, Patient, PatientCondition, CareTeamMember, ProxyGrant)


async def _seed(db: Database) -> list[DemoLogin]:
    async with db.session() as session:
        logins = await seed(session)
        await session.commit()
    return logins


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            table.__name__: await session.scalar(select(func.count()).select_from(table))
            for table in DOMAIN_TABLES
        }


async def _login(client, email: str) -> dict:
    response = await client.post(
        "/auth/login", json={"email": email, "password": data.DEMO_PASSWORD}
    )
    assert response.status_code == 200, (email, response.text)
    return response.json()


@pytest.fixture
async def seeded(db) -> list[DemoLogin]:
    return await _seed(db)


async def test_seed_creates_the_demo_organization(db, seeded):
    async with db.session() as session:
        [org] = (await session.scalars(select(Organization))).all()
        users = (await session.scalars(select(User))).all()
        patients = (await session.scalars(select(Patient))).all()
        grants = (await session.scalars(select(ProxyGrant))).all()
        without_conditions = await session.scalar(
            select(func.count())
            .select_from(Patient)
            .where(~Patient.id.in_(select(PatientCondition.patient_id)))
        )

    assert org.name == data.ORGANIZATION
    assert len(patients) == 25
    assert without_conditions == 0
    roles = Counter(user.role for user in users)
    assert roles["care_manager"] == 1
    assert roles["navigator"] == 2
    assert roles["clinician"] == 1
    assert roles["admin"] == 1
    assert roles["patient"] == 2
    assert roles["family"] >= 2
    assert {user.organization_id for user in users} == {org.id}
    # Family members hold different grants: different scopes, and active, time-limited,
    # expired and revoked ones.
    assert len({tuple(sorted(g.scopes)) for g in grants}) >= 3
    assert any(g.expires_at is None and g.revoked_at is None for g in grants)
    assert any(g.expires_at is not None and g.revoked_at is None for g in grants)
    assert any(g.revoked_at is not None for g in grants)
    assert {len(seeded)} == {len({login.email for login in seeded})}


async def test_the_demo_teams_leave_one_patient_for_emergency_access(db, seeded):
    async with db.session() as session:
        manager = (await session.scalars(select(User).where(User.role == "care_manager"))).one()
        managed = set(
            await session.scalars(
                select(CareTeamMember.patient_id).where(CareTeamMember.user_id == manager.id)
            )
        )
        all_patients = {p.id: p.mrn for p in await session.scalars(select(Patient))}
    assert {all_patients[p] for p in set(all_patients) - managed} == data.NO_CARE_MANAGER


async def test_seeding_twice_creates_nothing_new(db, seeded):
    first = await _counts(db)
    again = await _seed(db)
    assert await _counts(db) == first
    assert [login.email for login in again] == [login.email for login in seeded]


async def test_every_returned_login_is_an_active_account_with_its_role(db, seeded):
    async with db.session() as session:
        accounts = {u.email: u for u in await session.scalars(select(User))}
    for login in seeded:
        assert login.email in accounts, login
        assert accounts[login.email].role == login.role
        assert accounts[login.email].is_active
    # Every account in data.py is among the printed logins.
    expected = {f"{local}@{data.DOMAIN}" for local, *_ in data.STAFF + data.FAMILY}
    expected |= {f"{p[6]}@{data.DOMAIN}" for p in data.PATIENTS if p[6]}
    assert expected == {login.email for login in seeded}


async def test_demo_logins_work_with_the_demo_password(client, seeded):
    """A sample, one of each role: every check is a deliberately slow password hash."""
    for local, role in [
        ("maria.lopez", "care_manager"),
        ("james.carter", "navigator"),
        ("samuel.okafor", "clinician"),
        ("admin", "admin"),
        ("robert.johnson", "patient"),
        ("carlos.rivera", "family"),
    ]:
        response = await _login(client, f"{local}@{data.DOMAIN}")
        assert response["user"]["email"] == f"{local}@{data.DOMAIN}"
        assert response["user"]["role"] == role


async def test_demo_logins_see_what_the_walkthrough_promises(client, seeded):
    """Linda has an open and a time-limited grant; Grace's expired and Tom's was revoked; the
    care manager has 24 patients, the last being left for emergency access."""
    linda = await _login(client, f"linda.johnson@{data.DOMAIN}")
    headers = {"Authorization": f"Bearer {linda['access_token']}"}
    names = {
        p["full_name"] for p in (await client.get("/patients", headers=headers)).json()["data"]
    }
    assert names == {"Robert Johnson", "Evelyn Johnson"}

    for local in ("grace.kim", "tom.nguyen"):
        tokens = await _login(client, f"{local}@{data.DOMAIN}")
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get("/patients", headers=headers)).json()["data"] == []

    manager = await _login(client, f"maria.lopez@{data.DOMAIN}")
    headers = {"Authorization": f"Bearer {manager['access_token']}"}
    listed = (await client.get("/patients", headers=headers)).json()
    assert listed["count"] == 24


async def test_a_wrong_password_does_not_open_a_demo_account(client, seeded):
    response = await client.post(
        "/auth/login", json={"email": f"maria.lopez@{data.DOMAIN}", "password": "Demo-Care-2025"}
    )
    assert_error(response, 401, "invalid_credentials")

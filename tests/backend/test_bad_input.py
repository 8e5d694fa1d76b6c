"""Every client mistake gets a 4xx with the shared error body a person can act on, and stores
nothing. One table of malformed requests, run against both databases."""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from jose import jwt
from sqlalchemy import func, select

from backend.careteam.models import BreakGlassAccess, CareTeamMember, ProxyGrant
from backend.core.db import Database
from backend.core.security import JWT_ALGORITHM, JWT_ISSUER
from backend.core.types import utcnow
from backend.identity.models import AuthSession, Invitation, User
from backend.main import create_app
from backend.notifications.models import Notification
from backend.patients.models import Patient, PatientCondition
from shared.enums import GrantScope, Role
from tests import factories as f
from tests.backend.access_helpers import assert_error, headers_for
from tests.conftest import make_settings

MIB = 1024 * 1024
NEW_PATIENT = {"given_name": "Ada", "family_name": "Byron", "birth_date": "1960-12-10"}
STORED = (
    Patient,
    PatientCondition,
    CareTeamMember,
    ProxyGrant,
    BreakGlassAccess,
    Notification,
    Invitation,
    User,
)


@dataclass
class Cast:
    """The few people the table needs: a patient with a care manager and a family member."""

    patient: Patient
    grant: ProxyGrant
    membership: CareTeamMember
    users: dict[str, User] = field(default_factory=dict)


async def _cast(db: Database) -> Cast:
    org = await f.create_org(db)
    patient_user = await f.create_user(db, org, Role.patient)
    patient = await f.create_patient(db, org, user=patient_user, given_name="Ines")
    manager = await f.create_user(db, org, Role.care_manager)
    admin = await f.create_user(db, org, Role.admin)
    clinician = await f.create_user(db, org, Role.clinician)
    family = await f.create_user(db, org, Role.family)
    membership = await f.add_to_team(db, patient, manager)
    grant = await f.create_grant(db, patient, family, [GrantScope.messages])
    return Cast(
        patient=patient,
        grant=grant,
        membership=membership,
        users={
            "care_manager": manager,
            "patient": patient_user,
            "admin": admin,
            "clinician": clinician,
        },
    )


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A streamed body: httpx sends it chunked, with no Content-Length."""
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def _token(secret: str, **claims: Any) -> str:
    now = utcnow()
    base = {
        "iss": JWT_ISSUER,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    base.update(claims)
    return jwt.encode(base, secret, algorithm=JWT_ALGORITHM)


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    code: str | None = None
    auth: str = "care_manager"
    json: Any = None
    content: bytes | Callable[[], Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


JSON = {"Content-Type": "application/json"}
P = "/patients/{patient}"
# fmt: off
CASES = [
    # malformed bodies
    Case("login-truncated-json", "POST", "/auth/login", 400, "malformed_json", auth="none",
         content=b'{"email": "a@example.com", "password":', headers=JSON),
    Case("patient-not-json", "POST", "/patients", 400, "malformed_json",
         content=b"{given_name: 'Ada'}", headers=JSON),
    Case("patient-json-array", "POST", "/patients", 422, "validation_error", json=[NEW_PATIENT]),
    Case("patient-json-string", "POST", "/patients", 422, "validation_error", json="Ada Byron"),
    Case("patient-json-null", "POST", "/patients", 422, "validation_error",
         content=b"null", headers=JSON),
    Case("patient-no-body", "POST", "/patients", 422, "validation_error"),
    Case("patient-text-plain", "POST", "/patients", 422, "validation_error",
         content=b'{"given_name": "Ada"}', headers={"Content-Type": "text/plain"}),
    Case("patient-not-utf8", "POST", "/patients", 400,
         content=b'{"given_name": "\xff"}', headers=JSON),
    Case("patient-deeply-nested", "POST", "/patients", 400,
         content=b"[" * 100_000 + b"]" * 100_000, headers=JSON),
    # wrong types
    Case("patient-name-number", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "given_name": 123}),
    Case("patient-birth-date-word", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "birth_date": "yesterday"}),
    Case("patient-birth-date-impossible", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "birth_date": "1960-02-30"}),
    Case("patient-conditions-string", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "conditions": "diabetes"}),
    Case("login-email-not-email", "POST", "/auth/login", 422, "validation_error", auth="none",
         json={"email": "not-an-email", "password": "x"}),
    Case("care-team-user-not-uuid", "POST", P + "/care-team", 422, "validation_error",
         json={"user_id": "bob", "team_role": "navigator"}),
    Case("care-team-unknown-role", "POST", P + "/care-team", 422, "validation_error",
         json={"user_id": "{random}", "team_role": "surgeon"}),
    Case("grant-scopes-not-list", "PATCH", P + "/proxy-grants/{grant}", 422, "validation_error",
         auth="patient", json={"scopes": 7}),
    Case("break-glass-reason-number", "POST", P + "/break-glass", 422, "validation_error",
         auth="clinician", json={"reason": 123456789012345678}),
    # missing fields
    Case("patient-empty-object", "POST", "/patients", 422, "validation_error", json={}),
    Case("login-empty-object", "POST", "/auth/login", 422, "validation_error", auth="none",
         json={}),
    Case("break-glass-no-reason", "POST", P + "/break-glass", 422, "validation_error",
         auth="clinician", json={}),
    Case("care-team-no-user", "POST", P + "/care-team", 422, "validation_error",
         json={"team_role": "navigator"}),
    # too long, too many
    Case("patient-name-too-long", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "given_name": "A" * 101}),
    Case("condition-display-too-long", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "conditions": [{"display": "D" * 201}]}),
    Case("condition-code-too-long", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "conditions": [{"display": "Asthma", "code": "1" * 41}]}),
    Case("too-many-conditions", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "conditions": [{"display": "Asthma"}] * 51}),
    Case("login-password-too-long", "POST", "/auth/login", 422, "validation_error", auth="none",
         json={"email": "a@example.com", "password": "p" * 129}),
    Case("break-glass-reason-too-long", "POST", P + "/break-glass", 422, "validation_error",
         auth="clinician", json={"reason": "r" * 1001}),
    # semantic checks on POST /patients
    Case("patient-born-tomorrow", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "birth_date": (date.today() + timedelta(days=1)).isoformat()}),
    Case("patient-born-in-year-1", "POST", "/patients", 422, "validation_error",
         json={**NEW_PATIENT, "birth_date": "0001-01-01"}),
    Case("patient-unknown-time-zone", "POST", "/patients", 422, "invalid_timezone",
         json={**NEW_PATIENT, "timezone": "Mars/Olympus_Mons"}),
    Case("patient-path-as-time-zone", "POST", "/patients", 422, "invalid_timezone",
         json={**NEW_PATIENT, "timezone": "../../etc/passwd"}),
    # timestamps without a zone are ambiguous: refused, never compared (that used to be a 500)
    Case("care-team-end-without-zone", "POST", P + "/care-team", 422, "validation_error",
         json={"user_id": "{random}", "team_role": "navigator",
               "end_at": "2999-01-01T00:00:00"}),
    Case("grant-end-without-zone", "PATCH", P + "/proxy-grants/{grant}", 422, "validation_error",
         auth="patient", json={"expires_at": "2999-01-01T00:00:00"}),
    Case("invitation-end-without-zone", "POST", P + "/invitations", 422, "validation_error",
         json={"email": "kin@example.com", "role": "family", "full_name": "Kin",
               "relationship": "son", "scopes": ["messages"],
               "grant_expires_at": "2999-01-01T00:00:00"}),
    # ids in the path
    Case("patient-id-not-uuid", "GET", "/patients/not-a-uuid", 422, "validation_error"),
    Case("grant-id-not-uuid", "DELETE", P + "/proxy-grants/123", 422, "validation_error",
         auth="patient"),
    Case("member-id-not-uuid", "DELETE", P + "/care-team/xyz", 422, "validation_error"),
    Case("notification-id-not-uuid", "POST", "/notifications/abc/read", 422, "validation_error"),
    Case("unknown-patient", "GET", "/patients/{random}", 404, "not_found"),
    Case("unknown-patient-team", "GET", "/patients/{random}/care-team", 404, "not_found"),
    Case("unknown-patient-break-glass", "POST", "/patients/{random}/break-glass", 404,
         "not_found", auth="clinician", json={"reason": "Unconscious in the ED, need history."}),
    Case("unknown-grant-revoke", "DELETE", P + "/proxy-grants/{random}", 404, "not_found",
         auth="patient"),
    Case("unknown-grant-edit", "PATCH", P + "/proxy-grants/{random}", 404, "not_found",
         auth="patient", json={"scopes": ["messages"]}),
    Case("unknown-membership", "DELETE", P + "/care-team/{random}", 404, "not_found"),
    Case("unknown-notification", "POST", "/notifications/{random}/read", 404, "not_found"),
    Case("unknown-user-on-team", "POST", P + "/care-team", 422, "invalid_member",
         json={"user_id": "{random}", "team_role": "navigator"}),
    # size
    Case("body-over-cap", "POST", "/patients", 413, "payload_too_large",
         content=b" " * (MIB + 1), headers=JSON),
    Case("body-over-cap-unauthenticated", "POST", "/auth/login", 413, "payload_too_large",
         auth="none", content=b" " * (MIB + 1), headers=JSON),
    Case("chunked-body-over-cap", "POST", "/patients", 413, "payload_too_large",
         content=lambda: _chunks(MIB + 10), headers=JSON),
    Case("content-length-not-a-number", "POST", "/patients", 400, "bad_content_length",
         content=b"{}", headers={**JSON, "Content-Length": "lots"}),
    # routes and methods
    Case("unknown-route", "GET", "/nothing-here", 404, "not_found"),
    Case("unknown-route-unauthenticated", "GET", "/nothing-here", 404, "not_found", auth="none"),
    Case("wrong-method", "PUT", "/patients", 405, "method_not_allowed", json=NEW_PATIENT),
    Case("wrong-method-on-record", "DELETE", P, 405, "method_not_allowed"),
    # the audit API's query parameters
    *(
        Case(f"audit-{name}", "GET", "/audit", 422, "validation_error", auth="admin",
             params=params)
        for name, params in {
            "limit-zero": {"limit": "0"},
            "limit-huge": {"limit": "501"},
            "limit-word": {"limit": "many"},
            "cursor-zero": {"cursor": "0"},
            "cursor-word": {"cursor": "next"},
            "cursor-beyond-bigint": {"cursor": str(10**30)},
            "outcome-unknown": {"outcome": "maybe"},
            "patient-not-uuid": {"patient_id": "Rosa"},
            "actor-not-uuid": {"actor_id": "1"},
            "since-not-a-date": {"since": "last tuesday"},
            "since-without-zone": {"since": "2024-01-01T00:00:00"},
            "until-date-only": {"until": "2024-01-01"},
            "action-too-long": {"action": "a" * 65},
        }.items()
    ),
    # tokens
    Case("no-token", "GET", "/patients", 401, "not_authenticated", auth="none"),
    Case("garbage-token", "GET", "/patients", 401, "invalid_token", auth="garbage"),
    Case("expired-token", "GET", "/patients", 401, "token_expired", auth="expired"),
    Case("token-signed-elsewhere", "GET", "/patients", 401, "invalid_token", auth="foreign_key"),
    Case("token-unknown-session", "GET", "/patients", 401, "invalid_token",
         auth="unknown_session"),
    Case("token-wrong-type", "GET", "/patients", 401, "invalid_token", auth="refresh_typ"),
    Case("token-subject-not-uuid", "GET", "/patients", 401, "invalid_token", auth="bad_sub"),
    Case("basic-auth", "GET", "/patients", 401, "not_authenticated", auth="basic"),
    Case("expired-token-on-write", "POST", "/patients", 401, "token_expired", auth="expired",
         json=NEW_PATIENT),
]
# fmt: on


async def _headers(case: Case, cast: Cast, db: Database, settings) -> dict[str, str]:
    manager = cast.users["care_manager"]
    secret = settings.secret_key
    if case.auth == "none":
        return {}
    if case.auth in cast.users:
        return await headers_for(db, settings, cast.users[case.auth])
    if case.auth == "basic":
        return {"Authorization": "Basic YWRhOmJ5cm9u"}
    if case.auth == "garbage":
        return {"Authorization": "Bearer not.a.token"}
    real = await headers_for(db, settings, manager)
    claims = jwt.get_unverified_claims(real["Authorization"].removeprefix("Bearer "))
    past = int((utcnow() - timedelta(minutes=1)).timestamp())
    token = {
        "expired": lambda: _token(
            secret, sub=claims["sub"], sid=claims["sid"], exp=past, iat=past - 900
        ),
        "foreign_key": lambda: _token("another-secret-" * 4, sub=claims["sub"], sid=claims["sid"]),
        "unknown_session": lambda: _token(secret, sub=claims["sub"]),
        "refresh_typ": lambda: _token(secret, sub=claims["sub"], sid=claims["sid"], typ="refresh"),
        "bad_sub": lambda: _token(secret, sub="not-a-uuid", sid=claims["sid"]),
    }[case.auth]()
    return {"Authorization": f"Bearer {token}"}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            model.__name__: await session.scalar(select(func.count()).select_from(model))
            for model in STORED
        }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_input_gets_an_actionable_4xx_and_stores_nothing(client, db, settings, case):
    cast = await _cast(db)
    ids = {
        "patient": str(cast.patient.id),
        "grant": str(cast.grant.id),
        "random": str(uuid.uuid4()),
    }
    headers = {**await _headers(case, cast, db, settings), **case.headers}
    before = await _counts(db)

    request: dict[str, Any] = {"headers": headers, "params": case.params}
    if case.json is not None:
        request["json"] = _fill(case.json, ids)
    elif case.content is not None:
        request["content"] = case.content() if callable(case.content) else case.content
    response = await client.request(case.method, _fill(case.path, ids), **request)

    error = assert_error(response, case.status, case.code)
    assert len(error["message"]) >= 10, error
    if response.status_code == 422 and error["code"] == "validation_error":
        assert error["fields"], "a validation error names the fields to fix"
        assert all(item["field"] and item["message"] for item in error["fields"])
    assert await _counts(db) == before


async def test_a_refused_patient_leaves_no_row_and_no_team_membership(client, db, settings):
    cast = await _cast(db)
    headers = await headers_for(db, settings, cast.users["care_manager"])
    for body in (
        {**NEW_PATIENT, "timezone": "Nowhere/City"},
        {**NEW_PATIENT, "birth_date": "2999-01-01"},
        {**NEW_PATIENT, "conditions": [{"display": "x" * 300}]},
    ):
        response = await client.post("/patients", headers=headers, json=body)
        assert 400 <= response.status_code < 500
    async with db.session() as session:
        names = (await session.scalars(select(Patient.given_name))).all()
        members = await session.scalar(select(func.count()).select_from(CareTeamMember))
    assert names == ["Ines"]
    assert members == 1


async def test_a_nul_character_is_never_a_server_error(client, db, settings):
    """PostgreSQL cannot store NUL in text; SQLite can. Either way the answer is not a 500."""
    cast = await _cast(db)
    headers = await headers_for(db, settings, cast.users["care_manager"])
    response = await client.post(
        "/patients", headers=headers, json={**NEW_PATIENT, "given_name": "A\u0000B"}
    )
    if db.engine.dialect.name == "postgresql":
        assert_error(response, 422, "invalid_value")
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Patient)) == 1
    else:
        assert response.status_code == 201


async def test_the_body_cap_follows_the_setting(db, settings):
    """max_body_bytes is honoured as configured, not only at its 1 MiB default."""
    small = make_settings(settings.database_url, max_body_bytes=2048)
    app = create_app(small)
    app.state.db = db
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver/api/v1"
    ) as client:
        body = {"email": "a@example.com", "password": "p" * 100, "pad": "x" * 3000}
        too_big = await client.post("/auth/login", json=body)
        assert_error(too_big, 413, "payload_too_large")
        assert "2 KiB" in too_big.json()["error"]["message"]
        fits = await client.post("/auth/login", json={"email": "a@example.com", "password": "p"})
        assert_error(fits, 401, "invalid_credentials")


async def test_a_revoked_session_token_is_refused(client, db, settings):
    cast = await _cast(db)
    headers = await headers_for(db, settings, cast.users["care_manager"])
    async with db.session() as session:
        auth_session = (await session.scalars(select(AuthSession))).one()
        auth_session.revoked_at = utcnow()
        await session.commit()
    assert_error(await client.get("/patients", headers=headers), 401, "session_revoked")

"""The authorization matrix: every route of the API, asked by every kind of caller.

The routes come from the app itself (its OpenAPI schema), so a new endpoint without an entry in
`EXPECTED` fails `test_every_route_has_an_entry`, and an entry whose route is gone fails it too.
Each entry says who gets past authorization; `test_route_authorization` then calls the route once
as each principal and reports every disagreement for that route at once.

Allowed means the request reached the handler: a 2xx (or a business refusal the entry names,
such as 409). Denied means 401 for an anonymous caller and 403 or 404 otherwise; where the
existence of a record must not leak to the caller, the entry requires 404.

Every case uses a valid body and real ids, so that a 422 or a 404 "no such row" cannot pass for
an authorization decision. Cases that change state act on rows no principal's access depends on
(a spare family grant, a spare care-team membership, a spare account) or only on the caller's own
sessions, so one principal's case cannot change another's outcome.
"""

import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from backend.core.config import Settings
from backend.core.db import Database
from backend.core.security import create_access_token, new_opaque_token, token_digest
from backend.core.types import utcnow
from backend.identity.models import AuthSession, Invitation, RefreshToken, User
from backend.main import create_app
from backend.notifications.models import Notification, PushDevice
from shared.enums import GrantScope, NotificationCategory, Role, TeamRole
from tests import factories as f
from tests.backend.assessment_helpers import PHQ2_ALL_ZERO, AssessmentStage, stage_assessments
from tests.backend.careplan_helpers import CarePlanStage, plan_content, stage_care_plan
from tests.backend.scenario import World, build_world
from tests.conftest import make_settings

# --- the cast ----------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
PRINCIPALS: tuple[str, ...] = (
    ANONYMOUS,
    "patient",  # the record's own patient
    "care_manager",  # on the patient's care team
    "navigator",  # on the patient's care team
    "clinician",  # on the patient's care team
    "admin",  # the organization's administrator
    "family_full",  # active grant with every scope
    "family_limited",  # active grant with the care_plan scope only
    "family_expired",  # every scope, but the grant has expired
    "other_team_staff",  # a navigator on another patient's team only
    "other_patient",  # another patient of the same organization
    "foreign_staff",  # a care manager of another organization
)
SIGNED_IN = frozenset(PRINCIPALS) - {ANONYMOUS}
TEAM = frozenset({"care_manager", "navigator", "clinician"})
STAFF = TEAM | {"other_team_staff", "foreign_staff"}
ACTIVE_FAMILY = frozenset({"family_full", "family_limited"})
OUTSIDERS = frozenset({"other_patient", "foreign_staff"})
"""People for whom this patient's record must not even exist: they get 404, never 403."""
NOTIFICATION_OWNER = "care_manager"


@dataclass
class Stage:
    """The scenario world plus the spare rows that state-changing cases act on."""

    db: Database
    settings: Settings
    world: World
    tokens: dict[str, str]
    spare_staff: User  # active navigator on no team: the one added to the care team
    leaving_member_id: uuid.UUID  # a clinician's membership of the patient's team, to end
    spare_grant_id: uuid.UUID  # a spare relative's grant on the patient, to change or revoke
    account_target: User  # an account an administrator (de)activates
    invitation_id: uuid.UUID  # a pending family invitation the patient sent for themself
    notification_id: uuid.UUID  # belongs to NOTIFICATION_OWNER
    device_id: uuid.UUID  # a push device of NOTIFICATION_OWNER
    conversation_id: uuid.UUID  # the patient's care-team thread
    message_id: uuid.UUID  # the patient's message in it, with an attachment
    attachment_id: uuid.UUID
    assessments: AssessmentStage  # an open PHQ-2, a completed PHQ-9 with an open alert
    careplans: CarePlanStage  # a saved plan (version 1) with a daily task and an article

    def path_ids(self) -> dict[str, str]:
        return {
            "patient_id": str(self.world.patient.id),
            "member_id": str(self.leaving_member_id),
            "grant_id": str(self.spare_grant_id),
            "user_id": str(self.account_target.id),
            "invitation_id": str(self.invitation_id),
            "notification_id": str(self.notification_id),
            "device_id": str(self.device_id),
            "conversation_id": str(self.conversation_id),
            "message_id": str(self.message_id),
            "attachment_id": str(self.attachment_id),
            **self.assessments.path_ids(),
            **self.careplans.path_ids(),
        }


async def _save(db: Database, *rows: object) -> None:
    async with db.session() as session:
        session.add_all(rows)
        await session.commit()


async def build_stage(db: Database, settings: Settings) -> Stage:
    world = await build_world(db)
    assert set(world.users) == SIGNED_IN, "the scenario's cast and PRINCIPALS have drifted apart"
    spare_staff = await f.create_user(db, world.org, Role.navigator, name="Sam Spare")
    leaving = await f.create_user(db, world.org, Role.clinician, name="Dr. Lee Leaving")
    membership = await f.add_to_team(db, world.patient, leaving)
    spare_relative = await f.create_user(db, world.org, Role.family, name="Ray Relative")
    spare_grant = await f.create_grant(
        db, world.patient, spare_relative, [GrantScope.messages], relationship="son"
    )
    account_target = await f.create_user(db, world.org, Role.navigator, name="Tia Target")
    invitation = Invitation(
        organization_id=world.org.id,
        email=f"cousin-{uuid.uuid4().hex[:8]}@family.example",
        role=Role.family,
        full_name="Cory Cousin",
        patient_id=world.patient.id,
        relationship="cousin",
        scopes=[GrantScope.messages.value],
        invited_by_id=world.patient_user.id,
        token_hash=token_digest(new_opaque_token()),
        expires_at=utcnow() + timedelta(days=7),
    )
    notification = Notification(
        user_id=world.users[NOTIFICATION_OWNER].id,
        category=NotificationCategory.security,
        title="Emergency access used",
        body="A colleague opened a record with emergency access.",
    )
    sessions = {name: AuthSession(user_id=user.id) for name, user in world.users.items()}
    await _save(db, invitation, notification, *sessions.values())
    device = PushDevice(
        user_id=world.users[NOTIFICATION_OWNER].id,
        platform="android",
        token=f"matrix-{uuid.uuid4().hex}",
    )
    await _save(db, device)
    tokens = {
        name: create_access_token(
            settings,
            user_id=world.users[name].id,
            session_id=auth_session.id,
            role=str(world.users[name].role),
        )
        for name, auth_session in sessions.items()
    }
    thread = await f.sync_conversations(db, world.patient)
    message = await f.send_message(
        db,
        settings,
        thread,
        world.patient_user,
        "My feet are swollen today.",
        attachment=f.PNG_BYTES,
    )
    assert message.attachment is not None
    return Stage(
        db=db,
        settings=settings,
        world=world,
        tokens=tokens,
        spare_staff=spare_staff,
        leaving_member_id=membership.id,
        spare_grant_id=spare_grant.id,
        account_target=account_target,
        invitation_id=invitation.id,
        notification_id=notification.id,
        device_id=device.id,
        conversation_id=thread.id,
        message_id=message.id,
        attachment_id=message.attachment.id,
        assessments=await stage_assessments(db, world.patient.id, world.patient_user.id),
        careplans=await stage_care_plan(db, world.patient, world.care_manager),
    )


# --- request bodies (valid, so validation never answers in authorization's place) -------------

Body = Callable[[Stage, str], Awaitable[dict[str, Any]]]


def _email(principal: str) -> str:
    return f"{principal.replace('_', '-')}-{uuid.uuid4().hex[:8]}@invitee.example"


def fixed(payload: dict[str, Any]) -> Body:
    async def body(_stage: Stage, _principal: str) -> dict[str, Any]:
        return payload

    return body


async def login_body(stage: Stage, _principal: str) -> dict[str, Any]:
    return {"email": stage.spare_staff.email, "password": f.PASSWORD}


async def refresh_body(stage: Stage, _principal: str) -> dict[str, Any]:
    """A fresh, unspent refresh token of the spare colleague's own device."""
    token = new_opaque_token()
    auth_session = AuthSession(user_id=stage.spare_staff.id)
    await _save(stage.db, auth_session)
    await _save(
        stage.db,
        RefreshToken(
            session_id=auth_session.id,
            token_hash=token_digest(token),
            expires_at=utcnow() + timedelta(days=1),
        ),
    )
    return {"refresh_token": token}


async def accept_body(stage: Stage, principal: str) -> dict[str, Any]:
    """A fresh staff invitation for a new colleague, as its link would carry it."""
    token = new_opaque_token()
    await _save(
        stage.db,
        Invitation(
            organization_id=stage.world.org.id,
            email=_email(principal),
            role=Role.navigator,
            full_name="Nina Newcomer",
            invited_by_id=stage.world.admin.id,
            token_hash=token_digest(token),
            expires_at=utcnow() + timedelta(days=7),
        ),
    )
    return {"token": token, "password": "Quiet-Harbor-Lantern-7"}


async def staff_invitation_body(_stage: Stage, principal: str) -> dict[str, Any]:
    return {"email": _email(principal), "role": Role.clinician, "full_name": "Dr. New Colleague"}


async def family_invitation_body(_stage: Stage, principal: str) -> dict[str, Any]:
    return {
        "email": _email(principal),
        "role": Role.family,
        "full_name": "Ivy Invited",
        "relationship": "niece",
        "scopes": [GrantScope.messages],
    }


async def new_member_body(stage: Stage, _principal: str) -> dict[str, Any]:
    return {"user_id": str(stage.spare_staff.id), "team_role": TeamRole.navigator}


async def new_conversation_body(stage: Stage, _principal: str) -> dict[str, Any]:
    return {
        "patient_id": str(stage.world.patient.id),
        "kind": "group",
        "subject": "Swelling in both feet",
        "member_ids": [str(stage.world.users[name].id) for name in ("navigator", "clinician")],
    }


async def spare_member_body(stage: Stage, _principal: str) -> dict[str, Any]:
    return {"user_id": str(stage.spare_staff.id)}


async def device_body(_stage: Stage, principal: str) -> dict[str, Any]:
    return {
        "platform": "ios",
        "token": f"{principal}{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "app_version": "1.4.0",
        "locale": "en-US",
    }


async def questionnaire_body(_stage: Stage, principal: str) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "Questionnaire",
            "name": f"matrix-check-{principal}",
            "status": "active",
            "item": [{"linkId": "ok", "text": "Feeling well today?", "type": "boolean"}],
        }
    }


async def assignment_body(stage: Stage, _principal: str) -> dict[str, Any]:
    return {
        "questionnaire_id": str(stage.assessments.questionnaire_id),
        "due_at": (utcnow() + timedelta(days=7)).isoformat(),
        "recurrence_days": 14,
    }


async def plan_body(stage: Stage, principal: str) -> dict[str, Any]:
    from backend.careplans.service import local_today

    content = plan_content(local_today(stage.world.patient))
    content["title"] = f"Plan saved by {principal}"
    return {"content": content, "note": "matrix"}


async def mark_body(stage: Stage, _principal: str) -> dict[str, Any]:
    from backend.careplans.service import local_today

    return {"item_key": f"walk:{local_today(stage.world.patient).isoformat()}", "status": "done"}


async def message_body(_stage: Stage, principal: str) -> dict[str, Any]:
    return {"client_id": f"matrix-{principal}-{uuid.uuid4().hex[:8]}", "body": "Checking in."}


# --- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    """Who gets past authorization. A public route lists every principal."""
    public: bool = False
    """Needs no token: a call without one must reach the handler."""
    hidden: frozenset[str] = frozenset()
    """Denied principals who must get 404, because the thing must not exist for them."""
    body: Body | None = None
    also_reached: frozenset[int] = frozenset()
    """Non-2xx statuses that still mean the handler ran (a business refusal, e.g. 409)."""
    content: bytes | None = None
    """A raw request body (a file upload) instead of `body`'s JSON."""


def public(body: Body | None = None) -> Rule:
    return Rule(allowed=frozenset(PRINCIPALS), public=True, body=body)


def only(*names: str | frozenset[str], **kwargs: Any) -> Rule:
    allowed: set[str] = set()
    for name in names:
        allowed |= {name} if isinstance(name, str) else set(name)
    unknown = allowed - SIGNED_IN
    assert not unknown, f"not principals: {unknown}"
    return Rule(allowed=frozenset(allowed), **kwargs)


API = "/api/v1"
PATIENT = f"{API}/patients/{{patient_id}}"
CONVERSATION = f"{API}/conversations/{{conversation_id}}"
THREAD = frozenset({"patient", "family_full"}) | TEAM
NOT_IN_THREAD = SIGNED_IN - THREAD

EXPECTED: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): public(),
    ("GET", "/health/ready"): public(),
    # Sign-in and tokens: public, or the caller's own sessions and password.
    ("POST", f"{API}/auth/login"): public(login_body),
    ("POST", f"{API}/auth/refresh"): public(refresh_body),
    ("POST", f"{API}/auth/invitations/accept"): public(accept_body),
    ("POST", f"{API}/auth/logout"): only(SIGNED_IN),
    ("POST", f"{API}/auth/logout-all"): only(SIGNED_IN),
    ("POST", f"{API}/auth/unlock"): only(SIGNED_IN, body=fixed({"password": f.PASSWORD})),
    ("POST", f"{API}/auth/password"): only(
        SIGNED_IN,
        body=fixed({"current_password": f.PASSWORD, "new_password": "Another-Long-Phrase-99"}),
    ),
    ("GET", f"{API}/me"): only(SIGNED_IN),
    # Invitations and accounts. Inviting a clinician (who may use emergency access on any
    # record of the organization) is for administrators and for staff who may use it
    # themselves: a navigator must not be able to mint an account with more reach than their own.
    ("GET", f"{API}/invitations"): only(SIGNED_IN),
    ("POST", f"{API}/invitations"): only(
        "care_manager", "clinician", "admin", "foreign_staff", body=staff_invitation_body
    ),
    # The patient's own family invitation: the patient who sent it and their care team may
    # withdraw it; to everyone else (staff of other teams included) it does not exist.
    ("DELETE", f"{API}/invitations/{{invitation_id}}"): only(
        "patient", TEAM, hidden=SIGNED_IN - TEAM - {"patient"}
    ),
    ("GET", f"{API}/staff"): only(STAFF, "admin"),
    ("GET", f"{API}/users"): only("admin"),
    ("PATCH", f"{API}/users/{{user_id}}"): only("admin", body=fixed({"is_active": False})),
    # Patient records: the patient, the care team and (read only) active family proxies.
    ("GET", f"{API}/patients"): only(SIGNED_IN - {"admin"}),
    ("POST", f"{API}/patients"): only(
        STAFF,
        body=fixed({"given_name": "Nora", "family_name": "Newpatient", "birth_date": "1970-05-01"}),
    ),
    ("GET", PATIENT): only("patient", TEAM, ACTIVE_FAMILY, hidden=OUTSIDERS),
    ("POST", f"{PATIENT}/invitations"): only(
        "patient", TEAM, hidden=OUTSIDERS, body=family_invitation_body
    ),
    ("GET", f"{PATIENT}/care-team"): only("patient", TEAM, ACTIVE_FAMILY, hidden=OUTSIDERS),
    ("POST", f"{PATIENT}/care-team"): only("care_manager", hidden=OUTSIDERS, body=new_member_body),
    ("DELETE", f"{PATIENT}/care-team/{{member_id}}"): only("care_manager", hidden=OUTSIDERS),
    # Consent: the patient decides; the care manager may withdraw a grant on their behalf.
    ("GET", f"{PATIENT}/proxy-grants"): only("patient", TEAM, hidden=OUTSIDERS),
    ("PATCH", f"{PATIENT}/proxy-grants/{{grant_id}}"): only(
        "patient",
        hidden=OUTSIDERS,
        body=fixed({"scopes": [GrantScope.messages, GrantScope.care_plan]}),
    ),
    ("DELETE", f"{PATIENT}/proxy-grants/{{grant_id}}"): only(
        "patient", "care_manager", hidden=OUTSIDERS
    ),
    # Emergency access: care managers and clinicians of the organization. Those already on the
    # team reach the handler and are told so (409); nobody in the cast is an eligible outsider.
    ("POST", f"{PATIENT}/break-glass"): only(
        "care_manager",
        "clinician",
        hidden=frozenset({"foreign_staff"}),
        body=fixed({"reason": "Found unresponsive in the waiting room; need allergies now."}),
        also_reached=frozenset({409}),
    ),
    # Each person's own notification center.
    ("GET", f"{API}/notifications"): only(SIGNED_IN),
    ("POST", f"{API}/notifications/{{notification_id}}/read"): only(
        NOTIFICATION_OWNER, hidden=SIGNED_IN - {NOTIFICATION_OWNER}
    ),
    ("GET", f"{API}/notifications/unread"): only(SIGNED_IN),
    ("POST", f"{API}/notifications/read-all"): only(SIGNED_IN),
    # Push devices and preferences: each person's own; another's device does not exist.
    ("GET", f"{API}/notifications/devices"): only(SIGNED_IN),
    ("POST", f"{API}/notifications/devices"): only(SIGNED_IN, body=device_body),
    ("DELETE", f"{API}/notifications/devices/{{device_id}}"): only(
        NOTIFICATION_OWNER, hidden=SIGNED_IN - {NOTIFICATION_OWNER}
    ),
    ("GET", f"{API}/notifications/preferences"): only(SIGNED_IN),
    ("PATCH", f"{API}/notifications/preferences"): only(
        SIGNED_IN,
        body=fixed({"quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "education": False}),
    ),
    ("POST", f"{API}/notifications/test-push"): only(SIGNED_IN),
    # Push delivery counts of the organization: administrators.
    ("GET", f"{API}/notifications/metrics"): only("admin"),
    # Messaging. The care-team thread's members are the patient, the team and family whose
    # grant includes messages; to everyone else (staff of other teams, family without the
    # messages scope, administrators) a conversation does not exist.
    ("GET", f"{API}/conversations"): only(SIGNED_IN - {"admin"}),
    ("POST", f"{API}/conversations"): only(
        "patient", TEAM, "family_full", hidden=OUTSIDERS, body=new_conversation_body
    ),
    ("GET", f"{PATIENT}/care-team-thread"): only("patient", TEAM, "family_full", hidden=OUTSIDERS),
    ("GET", CONVERSATION): only(THREAD, hidden=NOT_IN_THREAD),
    # Only staff may mark urgent; the others reach the conversation and are refused there.
    ("PATCH", CONVERSATION): only(TEAM, hidden=NOT_IN_THREAD, body=fixed({"urgent": True})),
    # Adding people is the care team's (the patient and family are refused); the care-team
    # thread follows the care team, so staff reach the handler and are told (409).
    ("POST", f"{CONVERSATION}/members"): only(
        TEAM, hidden=NOT_IN_THREAD, body=spare_member_body, also_reached=frozenset({409})
    ),
    # Anyone may leave (others are refused in the handler); on the care-team thread, 409.
    ("DELETE", f"{CONVERSATION}/members/{{user_id}}"): only(
        THREAD, hidden=NOT_IN_THREAD, also_reached=frozenset({409})
    ),
    ("GET", f"{CONVERSATION}/messages"): only(THREAD, hidden=NOT_IN_THREAD),
    ("POST", f"{CONVERSATION}/messages"): only(THREAD, hidden=NOT_IN_THREAD, body=message_body),
    ("GET", f"{CONVERSATION}/resync"): only(THREAD, hidden=NOT_IN_THREAD),
    ("POST", f"{CONVERSATION}/read"): only(THREAD, hidden=NOT_IN_THREAD, body=fixed({"seq": 1})),
    # Edit: the author only; retract: the author or staff (a retracted message stays so: 409).
    ("PATCH", f"{CONVERSATION}/messages/{{message_id}}"): only(
        "patient",
        hidden=NOT_IN_THREAD,
        body=fixed({"body": "My ankles are swollen today."}),
        also_reached=frozenset({409}),
    ),
    ("POST", f"{CONVERSATION}/messages/{{message_id}}/retract"): only(
        "patient",
        TEAM,
        hidden=NOT_IN_THREAD,
        body=fixed({"reason": "Sent to the wrong thread"}),
        also_reached=frozenset({409}),
    ),
    ("GET", f"{CONVERSATION}/messages/{{message_id}}/history"): only(TEAM, hidden=NOT_IN_THREAD),
    ("POST", f"{CONVERSATION}/attachments"): only(
        THREAD, hidden=NOT_IN_THREAD, content=f.PNG_BYTES
    ),
    ("GET", f"{CONVERSATION}/attachments/{{attachment_id}}"): only(THREAD, hidden=NOT_IN_THREAD),
    # Assessments. Staff send questionnaires (uploaded ones stay in their organization); the
    # patient and family with the assessments grant see what was sent and answer it (a second
    # submission is refused, 409); scores, trends and alerts are the care team's.
    ("GET", f"{API}/questionnaires"): only(STAFF),
    ("POST", f"{API}/questionnaires"): only(STAFF, body=questionnaire_body),
    ("GET", f"{API}/questionnaires/{{questionnaire_id}}"): only(STAFF),
    ("GET", f"{API}/assessment-assignments"): only(STAFF),
    ("GET", f"{API}/assessment-alerts"): only(STAFF),
    ("GET", f"{PATIENT}/assessments"): only("patient", TEAM, "family_full", hidden=OUTSIDERS),
    ("POST", f"{PATIENT}/assessments"): only(TEAM, hidden=OUTSIDERS, body=assignment_body),
    ("GET", f"{PATIENT}/assessments/{{assignment_id}}"): only(
        "patient", TEAM, "family_full", hidden=OUTSIDERS
    ),
    ("PUT", f"{PATIENT}/assessments/{{assignment_id}}/draft"): only(
        "patient", "family_full", hidden=OUTSIDERS, body=fixed(PHQ2_ALL_ZERO)
    ),
    ("POST", f"{PATIENT}/assessments/{{assignment_id}}/submit"): only(
        "patient",
        "family_full",
        hidden=OUTSIDERS,
        body=fixed(PHQ2_ALL_ZERO),
        also_reached=frozenset({409}),
    ),
    ("POST", f"{PATIENT}/assessments/{{assignment_id}}/cancel"): only(
        TEAM, hidden=OUTSIDERS, also_reached=frozenset({409})
    ),
    ("GET", f"{PATIENT}/assessment-results"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/assessment-results/{{response_id}}"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/assessment-results/{{response_id}}/fhir"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/assessment-trends"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/assessment-alerts"): only(TEAM, hidden=OUTSIDERS),
    ("POST", f"{PATIENT}/assessment-alerts/{{alert_id}}/acknowledge"): only(
        TEAM,
        hidden=OUTSIDERS,
        body=fixed({"note": "Called the patient; safety plan reviewed."}),
        also_reached=frozenset({409}),
    ),
    # Care plans. The plan and Today: the patient, the team, family with the care_plan grant;
    # marking Today: the patient and such family; editing, history, adherence and the FHIR
    # export: the care team; reminder choices: the patient.
    ("GET", f"{API}/care-plan-templates"): only(STAFF),
    ("GET", f"{PATIENT}/care-plan"): only("patient", TEAM, ACTIVE_FAMILY, hidden=OUTSIDERS),
    ("PUT", f"{PATIENT}/care-plan"): only(TEAM, hidden=OUTSIDERS, body=plan_body),
    ("POST", f"{PATIENT}/care-plan/apply-template"): only(
        TEAM, hidden=OUTSIDERS, body=fixed({"template_key": "hypertension", "replace": True})
    ),
    ("GET", f"{PATIENT}/care-plan/versions"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/care-plan/versions/{{version}}"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/care-plan/diff"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/care-plan/fhir"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/today"): only("patient", TEAM, ACTIVE_FAMILY, hidden=OUTSIDERS),
    ("POST", f"{PATIENT}/today/marks"): only(
        "patient", ACTIVE_FAMILY, hidden=OUTSIDERS, body=mark_body
    ),
    ("GET", f"{PATIENT}/adherence"): only(TEAM, hidden=OUTSIDERS),
    ("GET", f"{PATIENT}/reminder-settings"): only("patient", TEAM, ACTIVE_FAMILY, hidden=OUTSIDERS),
    ("PUT", f"{PATIENT}/reminder-settings"): only(
        "patient",
        hidden=OUTSIDERS,
        body=fixed({"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}),
    ),
    # Education. The library is open to everyone signed in; the reading list follows the
    # education grant; staff on the team assign; the patient or such family record reads.
    ("GET", f"{API}/articles"): only(SIGNED_IN),
    ("GET", f"{API}/articles/{{slug}}"): only(SIGNED_IN),
    ("GET", f"{PATIENT}/articles"): only("patient", TEAM, "family_full", hidden=OUTSIDERS),
    ("POST", f"{PATIENT}/articles"): only(
        TEAM, hidden=OUTSIDERS, body=fixed({"article_slug": "when-to-call-for-help"})
    ),
    ("POST", f"{PATIENT}/articles/{{slug}}/read"): only("patient", "family_full", hidden=OUTSIDERS),
    # The audit trail: administrators.
    ("GET", f"{API}/audit"): only("admin"),
    ("GET", f"{API}/audit/verify"): only("admin"),
}

MATRIX_SIZE = len(EXPECTED) * len(PRINCIPALS)

_API_DOCS = "public API documentation (FastAPIOffline); no patient data, see test_openapi.py"
OUTSIDE_THE_SCHEMA: dict[str, str] = {
    "/openapi.json": _API_DOCS,
    "/docs": _API_DOCS,
    "/docs/oauth2-redirect": _API_DOCS,
    "/redoc": _API_DOCS,
    "/static-offline-docs": _API_DOCS,
    "/api/v1/ws": "the messaging websocket: token in its first frame, membership on every "
    "delivery; refusals tested in tests/backend/test_realtime.py",
}
"""Routes the OpenAPI schema does not show (documentation, websockets, include_in_schema=False),
each with why it is not in the matrix or where its authorization is tested instead."""


# --- the routes the app really has -------------------------------------------------------------


def _bare_app() -> FastAPI:
    return create_app(make_settings("sqlite+aiosqlite://"))


def schema_routes(app: FastAPI) -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method in methods
    }


def _walk(
    routes: list[Any], prefix: str = "", shown: bool = True
) -> Iterator[tuple[str, Any, bool]]:
    """Every route with its full path and whether the schema shows it, through FastAPI's
    lazily included routers (which `app.routes` lists as one opaque entry each)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = route.include_context
            yield from _walk(
                included.routes, prefix + context.prefix, shown and context.include_in_schema
            )
        else:
            yield prefix + route.path, route, shown and getattr(route, "include_in_schema", False)


def test_every_route_has_an_entry() -> None:
    app = _bare_app()
    found = schema_routes(app)
    missing = sorted(found - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - found)
    problems = [f"no authorization entry for {m} {p}: add it to EXPECTED" for m, p in missing]
    problems += [f"EXPECTED names {m} {p}, which the app no longer has" for m, p in stale]
    assert not problems, "\n".join(problems)
    print(
        f"authorization matrix: {len(EXPECTED)} routes x {len(PRINCIPALS)} principals "
        f"= {MATRIX_SIZE} cases per database"
    )


def test_no_route_hides_from_the_matrix() -> None:
    """A route left out of the OpenAPI schema would also be left out of the matrix."""
    app = _bare_app()
    walked = list(_walk(app.routes))
    seen = {
        (method, path)
        for path, route, _ in walked
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    # If FastAPI changes how it nests included routers, the walk must not pass by seeing nothing.
    assert schema_routes(app) <= seen, "the route walk no longer reaches the included routers"
    hidden = sorted(
        f"{type(route).__name__} {path}"
        for path, route, shown in walked
        if not shown and path not in OUTSIDE_THE_SCHEMA
    )
    assert not hidden, (
        "these routes are not in the OpenAPI schema, so the matrix cannot see them; give each "
        f"an entry in OUTSIDE_THE_SCHEMA saying where its authorization is tested: {hidden}"
    )
    stale = sorted(OUTSIDE_THE_SCHEMA.keys() - {path for path, _, _ in walked})
    assert not stale, f"OUTSIDE_THE_SCHEMA names routes the app no longer has: {stale}"


def test_matrix_is_well_formed() -> None:
    for (method, path), rule in EXPECTED.items():
        assert rule.allowed <= set(PRINCIPALS), (method, path)
        assert not (rule.hidden & rule.allowed), f"{method} {path}: hidden principals are allowed"
        assert ANONYMOUS not in rule.hidden, f"{method} {path}: anonymous always gets 401"
        if rule.public:
            assert rule.allowed == set(PRINCIPALS), f"{method} {path}: public means everyone"
        else:
            assert ANONYMOUS not in rule.allowed, f"{method} {path}: use public() for no token"
    assert any(rule.allowed != set(PRINCIPALS) for rule in EXPECTED.values())


# --- judging one call --------------------------------------------------------------------------


def _error(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None, None
    return error.get("code"), error.get("message")


def judge(rule: Rule, principal: str, response: httpx.Response) -> str | None:
    """What is wrong with this answer, or None."""
    status = response.status_code
    code, message = _error(response)
    seen = f"got {status}" + (f" {code}: {message!r}" if code else "")
    if status >= 400 and (not code or not message):
        return f"{seen}; an error must carry error.code and a non-empty error.message"
    if rule.public:
        if status < 300 or status in rule.also_reached:
            return None
        if code == "not_authenticated" or status == 403:
            return f"public route refused the caller: {seen}"
        return f"public route did not succeed with a valid request: {seen}"
    if principal == ANONYMOUS:
        if status == 401 and code == "not_authenticated":
            return None
        return f"expected 401 not_authenticated without a token, {seen}"
    if principal in rule.allowed:
        if status < 300 or status in rule.also_reached:
            return None
        return f"expected to be let through, {seen}"
    if principal in rule.hidden:
        if status == 404:
            return None
        return f"expected 404 (must not learn the record exists), {seen}"
    if status in (403, 404):
        return None
    return f"expected 403 or 404, {seen}"


# --- the matrix, run ---------------------------------------------------------------------------


def _route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1].removeprefix(API)}"


@dataclass(frozen=True)
class Api:
    client: httpx.AsyncClient
    db: Database
    settings: Settings


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database of each kind (synchronous: migrating runs its own event loop)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("matrix") / "matrix.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="module")
async def api(matrix_url: str) -> AsyncIterator[Api]:
    """One app and database per kind for the whole matrix. Every route still gets a world of
    its own: `build_world` makes a new organization each time, and everything a principal can
    reach is scoped to their organization, so earlier routes' worlds cannot change the answers.
    (A fresh database per route would cost more than the matrix itself.)"""
    url = matrix_url
    settings = make_settings(url)
    db = Database(settings.database_url)
    app = create_app(settings)
    app.state.db = db
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client=client, db=db, settings=settings)
    finally:
        await db.dispose()


@pytest.mark.parametrize("route", sorted(EXPECTED), ids=_route_id)
async def test_route_authorization(route: tuple[str, str], api: Api) -> None:
    method, template = route
    rule = EXPECTED[route]
    stage = await build_stage(api.db, api.settings)
    client = api.client
    try:
        url = template.format(**stage.path_ids())
    except KeyError as exc:
        pytest.fail(f"{method} {template}: no real id for {exc}; add one to Stage.path_ids")
    mismatches: list[str] = []
    for principal in PRINCIPALS:
        headers = {}
        if principal != ANONYMOUS:
            headers["Authorization"] = f"Bearer {stage.tokens[principal]}"
        body = await rule.body(stage, principal) if rule.body else None
        if rule.content is not None:
            headers["Content-Type"] = "application/octet-stream"
            response = await client.request(method, url, headers=headers, content=rule.content)
        else:
            response = await client.request(method, url, headers=headers, json=body)
        problem = judge(rule, principal, response)
        if problem:
            mismatches.append(f"{principal}: {problem}")
    assert not mismatches, f"{method} {template}\n  " + "\n  ".join(mismatches)


# --- the judge itself --------------------------------------------------------------------------


def _answer(status: int, code: str | None = None, message: str = "because") -> httpx.Response:
    if code is None:
        return httpx.Response(status, json={"ok": True})
    return httpx.Response(status, json={"error": {"code": code, "message": message, "fields": []}})


@dataclass
class _Case:
    rule: Rule
    principal: str
    response: httpx.Response
    ok: bool


_CARE_MANAGER_ONLY = only("care_manager", hidden=frozenset({"other_patient"}))
_JUDGE_CASES = [
    _Case(_CARE_MANAGER_ONLY, "care_manager", _answer(200), True),
    _Case(_CARE_MANAGER_ONLY, "care_manager", _answer(409, "conflict"), False),
    _Case(_CARE_MANAGER_ONLY, "care_manager", _answer(403, "forbidden"), False),
    _Case(_CARE_MANAGER_ONLY, "care_manager", _answer(500, "internal_error"), False),
    _Case(_CARE_MANAGER_ONLY, "navigator", _answer(403, "forbidden"), True),
    _Case(_CARE_MANAGER_ONLY, "navigator", _answer(404, "not_found"), True),
    _Case(_CARE_MANAGER_ONLY, "navigator", _answer(204), False),
    _Case(_CARE_MANAGER_ONLY, "navigator", _answer(403, "forbidden", message=""), False),
    _Case(_CARE_MANAGER_ONLY, "navigator", httpx.Response(403, text="no"), False),
    _Case(_CARE_MANAGER_ONLY, "other_patient", _answer(404, "not_found"), True),
    _Case(_CARE_MANAGER_ONLY, "other_patient", _answer(403, "forbidden"), False),
    _Case(_CARE_MANAGER_ONLY, ANONYMOUS, _answer(401, "not_authenticated"), True),
    _Case(_CARE_MANAGER_ONLY, ANONYMOUS, _answer(401, "invalid_token"), False),
    _Case(_CARE_MANAGER_ONLY, ANONYMOUS, _answer(200), False),
    _Case(public(), ANONYMOUS, _answer(200), True),
    _Case(public(), ANONYMOUS, _answer(401, "not_authenticated"), False),
    _Case(public(), "patient", _answer(403, "forbidden"), False),
    _Case(
        Rule(frozenset(PRINCIPALS), public=True, also_reached=frozenset({409})),
        ANONYMOUS,
        _answer(409, "conflict"),
        True,
    ),
]


@pytest.mark.parametrize(
    "case", _JUDGE_CASES, ids=lambda c: f"{c.principal}-{c.response.status_code}"
)
def test_judge_tells_allow_from_deny(case: _Case) -> None:
    verdict = judge(case.rule, case.principal, case.response)
    assert (verdict is None) is case.ok, verdict

"""Small async factories: each writes through its own session and commits, so what it makes is
visible to the app under test exactly as production data would be."""

import itertools
import uuid
from datetime import date, datetime, timedelta

import httpx

from backend.careteam.models import CareTeamMember, ProxyGrant
from backend.core.config import Settings
from backend.core.db import Database
from backend.core.security import password_context
from backend.core.types import utcnow
from backend.identity.models import Organization, User
from backend.messaging.models import Conversation
from backend.patients.models import Patient, PatientCondition
from shared.enums import GrantScope, Role, TeamRole
from shared.schemas.messaging import MessageCreate, MessagePublic

PASSWORD = "Test-Password-42"
_PASSWORD_HASH = password_context.hash(PASSWORD)
_counter = itertools.count(1)


async def _save(db: Database, *rows: object) -> None:
    async with db.session() as session:
        session.add_all(rows)
        await session.commit()


async def create_org(db: Database, name: str = "Lakeside Clinic") -> Organization:
    org = Organization(name=name)
    await _save(db, org)
    return org


async def create_user(
    db: Database,
    org: Organization,
    role: Role,
    *,
    name: str | None = None,
    email: str | None = None,
    is_active: bool = True,
) -> User:
    n = next(_counter)
    user = User(
        organization_id=org.id,
        email=email or f"{role.value}{n}-{uuid.uuid4().hex[:6]}@clinic.example",
        full_name=name or f"{role.value.replace('_', ' ').title()} {n}",
        role=role,
        password_hash=_PASSWORD_HASH,
        is_active=is_active,
    )
    await _save(db, user)
    return user


async def create_patient(
    db: Database,
    org: Organization,
    *,
    user: User | None = None,
    given_name: str = "Pat",
    family_name: str | None = None,
    conditions: tuple[str, ...] = ("Type 2 diabetes mellitus",),
) -> Patient:
    n = next(_counter)
    patient = Patient(
        organization_id=org.id,
        user_id=user.id if user else None,
        mrn=f"T-{n:06d}",
        given_name=given_name,
        family_name=family_name or f"Tester{n}",
        birth_date=date(1960, 1, 1),
    )
    await _save(db, patient)
    await _save(
        db, *[PatientCondition(patient_id=patient.id, display=display) for display in conditions]
    )
    return patient


async def add_to_team(
    db: Database,
    patient: Patient,
    user: User,
    team_role: TeamRole | None = None,
    *,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
) -> CareTeamMember:
    member = CareTeamMember(
        patient_id=patient.id,
        user_id=user.id,
        team_role=team_role or TeamRole(user.role),
        start_at=start_at or utcnow() - timedelta(days=1),
        end_at=end_at,
    )
    await _save(db, member)
    return member


async def create_grant(
    db: Database,
    patient: Patient,
    grantee: User,
    scopes: list[GrantScope],
    *,
    expires_at: datetime | None = None,
    revoked_at: datetime | None = None,
    relationship: str = "daughter",
) -> ProxyGrant:
    grant = ProxyGrant(
        patient_id=patient.id,
        grantee_id=grantee.id,
        relationship=relationship,
        scopes=[s.value for s in scopes],
        expires_at=expires_at,
        revoked_at=revoked_at,
    )
    await _save(db, grant)
    return grant


async def login(client: httpx.AsyncClient, user: User, password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the API; returns the token pair."""
    response = await client.post("/auth/login", json={"email": user.email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


# --- messaging ---------------------------------------------------------------------------------

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
"""A real 1x1 PNG."""


async def sync_conversations(db: Database, patient: Patient) -> Conversation:
    """What the services do after any team or grant change (factories write rows directly):
    bring the patient's conversations in line; returns the care-team thread."""
    from backend.messaging.membership import ensure_care_team_thread, sync_patient

    async with db.session() as session:
        fresh = await session.get(Patient, patient.id)
        assert fresh is not None
        await sync_patient(session, fresh, hub=None, actor_id=None)
        thread = await ensure_care_team_thread(session, fresh)
        await session.commit()
    return thread


async def send_message(
    db: Database,
    settings: Settings,
    conversation: Conversation,
    sender: User,
    body: str,
    *,
    attachment: bytes | None = None,
    client_id: str | None = None,
) -> MessagePublic:
    """Send through the real service, as `sender` (who must be a member)."""
    from backend.identity.permissions import Principal
    from backend.messaging import files, service
    from backend.messaging.permissions import load_access
    from backend.realtime.hub import Hub

    async with db.session() as session:
        principal = Principal(user=sender, session_id=uuid.uuid4())
        access = await load_access(session, principal, conversation.id)
        attachment_id = None
        if attachment is not None:
            stored = await files.store(
                session, settings=settings, access=access, data=attachment, filename="photo.png"
            )
            attachment_id = stored.id
        data = MessageCreate(
            client_id=client_id or f"factory-{uuid.uuid4().hex}",
            body=body,
            attachment_id=attachment_id,
        )
        message, _ = await service.send_message(
            session, hub=Hub(), keyring=settings.keyring, access=access, data=data
        )
        session.info.pop("after_commit", None)
        await session.commit()
    return message

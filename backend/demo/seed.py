"""Seeding the demo organization. Safe to run again: it adds only what is missing."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.assessments import demo as assessments_demo
from backend.audit import service as audit
from backend.careplans import demo as careplans_demo
from backend.careteam.models import CareTeamMember, ProxyGrant
from backend.core.config import get_settings
from backend.core.crypto import Keyring
from backend.core.db import Database
from backend.core.security import hash_password
from backend.core.types import utcnow
from backend.demo import data
from backend.identity.models import Organization, User
from backend.messaging.membership import ensure_care_team_thread, sync_patient
from backend.messaging.models import Message
from backend.messaging.service import message_aad
from backend.patients.models import Patient, PatientCondition
from shared.enums import MessageKind, TeamRole

SNOMED = "http://snomed.info/sct"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    name: str
    email: str


def _email(local: str) -> str:
    return f"{local}@{data.DOMAIN}"


async def _user(session: AsyncSession, org: Organization, local: str, name: str, role: str) -> User:
    email = _email(local)
    user = (await session.scalars(select(User).where(User.email == email))).first()
    if user is None:
        user = User(
            organization_id=org.id,
            email=email,
            full_name=name,
            role=role,
            password_hash=await hash_password(data.DEMO_PASSWORD),
        )
        session.add(user)
        await session.flush()
    return user


async def _demo_messages(session: AsyncSession, keyring: Keyring, staff: dict) -> None:
    """A short exchange in Robert Johnson's care-team thread, so the demo opens on a real
    conversation. Added only while that thread is empty."""
    robert = await session.scalar(select(Patient).where(Patient.mrn == data.PATIENTS[0][0]))
    if robert is None or robert.user_id is None:
        return
    conversation = await ensure_care_team_thread(session, robert)
    if conversation.last_seq:
        return
    navigator = staff.get("james.carter")
    if navigator is None:
        return
    now = utcnow()
    script = [
        (
            navigator.id,
            "Hi Robert, this is James, your care navigator. How did the new blood "
            "sugar meter work this week?",
            26,
        ),
        (robert.user_id, "Hi James. It works, my readings were between 120 and 150.", 25),
        (navigator.id, "That's good progress. Dr. Okafor will review them before your visit.", 24),
    ]
    for seq, (sender_id, body, hours_ago) in enumerate(script, start=1):
        message = Message(
            conversation_id=conversation.id,
            seq=seq,
            sender_id=sender_id,
            client_id=f"demo-seed-{seq}",
            kind=MessageKind.text,
            body_cipher=b"",
            key_id="",
            created_at=now - timedelta(hours=hours_ago),
        )
        message.key_id, message.body_cipher = keyring.encrypt_text(body, message_aad(message.id))
        session.add(message)
    conversation.last_seq = len(script)
    conversation.last_message_at = now - timedelta(hours=script[-1][2])
    await session.flush()


async def seed(session: AsyncSession, keyring: Keyring | None = None) -> list[DemoLogin]:
    org = (
        await session.scalars(select(Organization).where(Organization.name == data.ORGANIZATION))
    ).first()
    if org is None:
        org = Organization(name=data.ORGANIZATION)
        session.add(org)
        await session.flush()

    staff = {}
    for local, name, role in data.STAFF:
        staff[local] = await _user(session, org, local, name, role)

    patients: dict[str, Patient] = {}
    created = 0
    for mrn, given, family, birth, sex, conditions, login in data.PATIENTS:
        patient = (
            await session.scalars(
                select(Patient).where(Patient.organization_id == org.id, Patient.mrn == mrn)
            )
        ).first()
        if patient is None:
            created += 1
            patient = Patient(
                organization_id=org.id,
                mrn=mrn,
                given_name=given,
                family_name=family,
                birth_date=birth,
                sex=sex,
                timezone="America/New_York",
            )
            session.add(patient)
            await session.flush()
            for code, display in conditions:
                session.add(
                    PatientCondition(
                        patient_id=patient.id, code=code, system=SNOMED, display=display
                    )
                )
        if login and patient.user_id is None:
            user = await _user(session, org, login, f"{given} {family}", "patient")
            patient.user_id = user.id
        patients[mrn] = patient

    for mrn, patient in patients.items():
        wanted = list(data.TEAM_EXTRA.get(mrn, []))
        if mrn not in data.NO_CARE_MANAGER:
            wanted.insert(0, "maria.lopez")
        for local in wanted:
            member = staff[local]
            exists = await session.scalar(
                select(CareTeamMember.id).where(
                    CareTeamMember.patient_id == patient.id, CareTeamMember.user_id == member.id
                )
            )
            if exists is None:
                session.add(
                    CareTeamMember(
                        patient_id=patient.id,
                        user_id=member.id,
                        team_role=TeamRole(member.role),
                        start_at=utcnow() - timedelta(days=180),
                    )
                )

    now = utcnow()
    family_logins = []
    for local, name, grants in data.FAMILY:
        user = await _user(session, org, local, name, "family")
        family_logins.append(user)
        for mrn, relationship, scopes, state in grants:
            patient = patients[mrn]
            exists = await session.scalar(
                select(ProxyGrant.id).where(
                    ProxyGrant.patient_id == patient.id, ProxyGrant.grantee_id == user.id
                )
            )
            if exists is not None:
                continue
            session.add(
                ProxyGrant(
                    patient_id=patient.id,
                    grantee_id=user.id,
                    relationship=relationship,
                    scopes=scopes,
                    granted_by_id=patient.user_id,
                    created_at=now - timedelta(days=120),
                    expires_at={
                        "expires_90d": now + timedelta(days=90),
                        "expired": now - timedelta(days=10),
                    }.get(state),
                    revoked_at=now - timedelta(days=5) if state == "revoked" else None,
                )
            )

    await session.flush()
    patients = (
        await session.scalars(select(Patient).where(Patient.organization_id == org.id))
    ).all()
    for patient in patients:
        await sync_patient(session, patient, hub=None, actor_id=None)
    await _demo_messages(session, keyring or get_settings().keyring, staff)
    await assessments_demo.seed(
        session, patient_mrn=data.PATIENTS[0][0], manager=staff.get("maria.lopez")
    )
    await careplans_demo.seed(
        session, patient_mrn=data.PATIENTS[0][0], manager=staff.get("maria.lopez")
    )

    audit.record(
        session,
        action="demo.seed",
        organization_id=org.id,
        detail={"patients_created": created},
    )
    return (
        [DemoLogin(role, name, _email(local)) for local, name, role in data.STAFF]
        + [
            DemoLogin("patient", "Robert Johnson", _email("robert.johnson")),
            DemoLogin("patient", "Maria Rivera", _email("maria.rivera")),
        ]
        + [DemoLogin("family", u.full_name, u.email) for u in family_logins]
    )


async def run_seed(database_url: str) -> list[DemoLogin]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            logins = await seed(session)
            await session.commit()
        return logins
    finally:
        await db.dispose()


def print_logins(logins: list[DemoLogin]) -> None:
    print(
        f"\nDemo organization: {data.ORGANIZATION}   "
        f"password for every demo login: {data.DEMO_PASSWORD}"
    )
    for login in logins:
        print(f"  {login.role:<13} {login.name:<20} {login.email}")


if __name__ == "__main__":  # pragma: no cover
    from backend.core.config import get_settings

    print_logins(asyncio.run(run_seed(get_settings().database_url)))

"""Who may be in a patient's conversations: the patient, active care-team members, and family
members whose active grant includes messages. Read fresh from the consent tables, so an ended
membership or a withdrawn grant counts at once."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.careteam.access import active_grant_clause, active_membership_clause
from backend.careteam.models import CareTeamMember, ProxyGrant
from backend.core.types import utcnow
from backend.identity.models import User
from backend.patients.models import Patient
from shared.enums import GrantScope


async def eligible_user_ids(session: AsyncSession, patient: Patient) -> set[uuid.UUID]:
    now = utcnow()
    team = await session.scalars(
        select(CareTeamMember.user_id)
        .join(User, User.id == CareTeamMember.user_id)
        .where(
            CareTeamMember.patient_id == patient.id,
            active_membership_clause(now),
            User.is_active.is_(True),
        )
    )
    eligible = set(team.all())
    grants = await session.execute(
        select(ProxyGrant.grantee_id, ProxyGrant.scopes)
        .join(User, User.id == ProxyGrant.grantee_id)
        .where(
            ProxyGrant.patient_id == patient.id,
            active_grant_clause(now),
            User.is_active.is_(True),
        )
    )
    eligible.update(grantee for grantee, scopes in grants if GrantScope.messages in scopes)
    if patient.user_id is not None:
        eligible.add(patient.user_id)
    return eligible


async def is_eligible(session: AsyncSession, patient: Patient, user_id: uuid.UUID) -> bool:
    return user_id in await eligible_user_ids(session, patient)

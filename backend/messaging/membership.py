"""Who is in which conversation. The care-team thread follows the care team and the patient's
grants by itself (`sync_patient`); group and direct threads are chosen by people, but only
among those entitled to the patient's messages, and lose anyone who stops being entitled."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.careteam.access import PatientAccess
from backend.core.db import after_commit
from backend.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.core.types import utcnow
from backend.identity.permissions import Principal
from backend.messaging import eligibility
from backend.messaging.models import Conversation, ConversationMember
from backend.messaging.service import (
    CARE_TEAM_SUBJECT,
    ConversationAccess,
    active_member_ids,
    conversation_public,
)
from backend.patients.models import Patient
from backend.realtime.hub import Hub
from shared.enums import ConversationKind
from shared.schemas.messaging import (
    ConversationCreate,
    ConversationFrame,
    ConversationPublic,
    ConversationUpdate,
    MembershipFrame,
)


def _announce(
    session: AsyncSession,
    hub: Hub,
    conversation: Conversation,
    *,
    added: list[uuid.UUID] = (),  # type: ignore[assignment]
    removed: list[uuid.UUID] = (),  # type: ignore[assignment]
) -> None:
    """After commit: update every process's sockets, then tell the members what changed."""
    added, removed = list(added), list(removed)
    conversation_id = conversation.id

    async def fan_out() -> None:
        for user_id in removed:
            frame = MembershipFrame(
                conversation_id=conversation_id, user_id=user_id, change="removed"
            ).model_dump_json()
            # The removed person hears it while still subscribed, then is unsubscribed.
            await hub.deliver(conversation_id, [user_id], frame)
            await hub.membership(conversation_id, user_id, added=False)
        for user_id in added:
            await hub.membership(conversation_id, user_id, added=True)
        await _send_conversation_frames(hub, session, conversation_id, added, removed)

    after_commit(session, fan_out)


async def _send_conversation_frames(
    hub: Hub,
    session: AsyncSession,
    conversation_id: uuid.UUID,
    added: list[uuid.UUID],
    removed: list[uuid.UUID],
) -> None:
    """Per member (each sees their own unread count): the conversation as it now is."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return
    members = await active_member_ids(session, conversation_id)
    for user_id in members:
        public = await conversation_public(session, conversation, user_id)
        await hub.deliver(
            conversation_id, [user_id], ConversationFrame(conversation=public).model_dump_json()
        )
        for change, people in (("added", added), ("removed", removed)):
            for person in people:
                if person != user_id or change == "added":
                    frame = MembershipFrame(
                        conversation_id=conversation_id, user_id=person, change=change
                    ).model_dump_json()
                    await hub.deliver(conversation_id, [user_id], frame)
    await session.commit()  # end the read transaction this opened (nothing was written)


async def _members(session: AsyncSession, conversation_id: uuid.UUID) -> dict:
    rows = await session.scalars(
        select(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
    )
    return {m.user_id: m for m in rows}


async def _add(
    session: AsyncSession,
    existing: dict,
    conversation: Conversation,
    user_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> bool:
    member = existing.get(user_id)
    if member is None:
        session.add(
            ConversationMember(
                conversation_id=conversation.id,
                user_id=user_id,
                added_by_id=actor_id,
                # A newcomer starts with the thread's past already counted as read.
                read_seq=conversation.last_seq,
            )
        )
        return True
    if member.removed_at is not None:
        member.removed_at = None
        member.removed_by_id = None
        member.added_at = utcnow()
        member.added_by_id = actor_id
        member.read_seq = max(member.read_seq, conversation.last_seq)
        return True
    return False


async def ensure_care_team_thread(
    session: AsyncSession, patient: Patient, *, hub: Hub | None = None, actor_id=None
) -> Conversation:
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.patient_id == patient.id,
            Conversation.kind == ConversationKind.care_team,
        )
    )
    if conversation is None:
        conversation = Conversation(
            organization_id=patient.organization_id,
            patient_id=patient.id,
            kind=ConversationKind.care_team,
            subject=CARE_TEAM_SUBJECT,
            created_by_id=actor_id,
        )
        session.add(conversation)
        await session.flush()
    return conversation


async def sync_patient(
    session: AsyncSession, patient: Patient, *, hub: Hub | None, actor_id: uuid.UUID | None
) -> None:
    """Bring every conversation about `patient` in line with who may see their messages now:
    the care-team thread gains and loses people with the team and the grants; other threads
    only lose those no longer entitled. Call after any care-team or grant change."""
    eligible = await eligibility.eligible_user_ids(session, patient)
    care_team = await ensure_care_team_thread(session, patient, actor_id=actor_id)
    conversations = (
        await session.scalars(select(Conversation).where(Conversation.patient_id == patient.id))
    ).all()
    now = utcnow()
    for conversation in conversations:
        existing = await _members(session, conversation.id)
        added: list[uuid.UUID] = []
        removed: list[uuid.UUID] = []
        if conversation.id == care_team.id:
            for user_id in sorted(eligible):
                if await _add(session, existing, conversation, user_id, actor_id):
                    added.append(user_id)
        for user_id, member in existing.items():
            if member.removed_at is None and user_id not in eligible:
                member.removed_at = now
                member.removed_by_id = actor_id
                removed.append(user_id)
        if (added or removed) and hub is not None:
            _announce(session, hub, conversation, added=added, removed=removed)
    await session.flush()


async def care_team_thread_for(
    session: AsyncSession, *, hub: Hub, access: PatientAccess
) -> ConversationPublic:
    principal = access.principal  # admitted by the PatientMessages dependency
    conversation = await ensure_care_team_thread(session, access.patient, actor_id=principal.id)
    existing = await _members(session, conversation.id)
    if await _add(session, existing, conversation, principal.id, principal.id):
        await session.flush()
        _announce(session, hub, conversation, added=[principal.id])
    access.record(
        session, "conversation.read", resource_type="conversation", resource_id=conversation.id
    )
    return await conversation_public(session, conversation, principal.id)


async def create_conversation(
    session: AsyncSession, *, hub: Hub, access: PatientAccess, data: ConversationCreate
) -> tuple[ConversationPublic, bool]:
    """Returns the conversation and whether it is new (a direct thread between the same two
    people about the same patient is reused)."""
    principal = access.principal  # admitted by the NewConversationAccess dependency
    eligible = await eligibility.eligible_user_ids(session, access.patient)
    others = sorted({u for u in data.member_ids if u != principal.id})
    if not others:
        raise Unprocessable(
            "Name at least one other person for the conversation.",
            code="no_members",
            fields=[{"field": "body.member_ids", "message": "Add someone other than yourself."}],
        )
    outsiders = [u for u in others if u not in eligible]
    if outsiders:
        raise Unprocessable(
            "Everyone in a conversation must be on the patient's care team, the patient, or "
            "family the patient shares messages with.",
            code="not_eligible",
            fields=[
                {
                    "field": "body.member_ids",
                    "message": f"Not allowed: {', '.join(map(str, outsiders))}",
                }
            ],
        )
    if data.kind == ConversationKind.direct:
        if len(others) != 1:
            raise Unprocessable(
                "A one-to-one conversation has exactly one other person.",
                code="direct_needs_one",
                fields=[{"field": "body.member_ids", "message": "Name exactly one person."}],
            )
        found = await _existing_direct(session, access.patient.id, principal.id, others[0])
        if found is not None:
            return await conversation_public(session, found, principal.id), False
    conversation = Conversation(
        organization_id=access.patient.organization_id,
        patient_id=access.patient.id,
        kind=data.kind,
        subject=data.subject,
        urgent=data.urgent,
        created_by_id=principal.id,
    )
    session.add(conversation)
    await session.flush()
    members = [principal.id, *others]
    for user_id in members:
        session.add(
            ConversationMember(
                conversation_id=conversation.id, user_id=user_id, added_by_id=principal.id
            )
        )
    await session.flush()
    access.record(
        session,
        "conversation.create",
        resource_type="conversation",
        resource_id=conversation.id,
        detail={"kind": str(data.kind), "members": len(members)},
    )
    _announce(session, hub, conversation, added=members)
    return await conversation_public(session, conversation, principal.id), True


async def _existing_direct(
    session: AsyncSession, patient_id: uuid.UUID, a: uuid.UUID, b: uuid.UUID
) -> Conversation | None:
    candidates = await session.scalars(
        select(Conversation)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(
            Conversation.patient_id == patient_id,
            Conversation.kind == ConversationKind.direct,
            ConversationMember.user_id == a,
            ConversationMember.removed_at.is_(None),
        )
    )
    for conversation in candidates:
        active = set(await active_member_ids(session, conversation.id))
        if active == {a, b}:
            return conversation
    return None


def _require_managed(access: ConversationAccess) -> None:
    if access.conversation.kind == ConversationKind.care_team:
        raise Conflict(
            "The care-team conversation follows the care team: change the team or the "
            "patient's sharing instead.",
            code="care_team_thread",
        )


async def add_member(
    session: AsyncSession, *, hub: Hub, access: ConversationAccess, user_id: uuid.UUID
) -> ConversationPublic:
    _require_managed(access)
    if access.conversation.kind == ConversationKind.direct:
        raise Conflict(
            "A one-to-one conversation can't gain members; start a group conversation.",
            code="direct_conversation",
        )
    if not await eligibility.is_eligible(session, access.patient, user_id):
        raise Unprocessable(
            "That person is not on the patient's care team and has no messages grant.",
            code="not_eligible",
            fields=[
                {"field": "body.user_id", "message": "Not allowed in this patient's conversations."}
            ],
        )
    existing = await _members(session, access.conversation.id)
    if await _add(session, existing, access.conversation, user_id, access.principal.id):
        await session.flush()
        access.record(session, "conversation.member_add", user=str(user_id))
        _announce(session, hub, access.conversation, added=[user_id])
    return await conversation_public(session, access.conversation, access.principal.id)


async def remove_member(
    session: AsyncSession, *, hub: Hub, access: ConversationAccess, user_id: uuid.UUID
) -> None:
    _require_managed(access)
    leaving = user_id == access.principal.id
    if not leaving and not access.principal.is_staff:
        raise Forbidden("Only the care team can remove someone else from a conversation.")
    member = (await _members(session, access.conversation.id)).get(user_id)
    if member is None or member.removed_at is not None:
        raise NotFound("That person is not in this conversation.")
    member.removed_at = utcnow()
    member.removed_by_id = access.principal.id
    await session.flush()
    access.record(session, "conversation.member_remove", user=str(user_id))
    _announce(session, hub, access.conversation, removed=[user_id])


async def update_conversation(
    session: AsyncSession, *, hub: Hub, access: ConversationAccess, data: ConversationUpdate
) -> ConversationPublic:
    conversation = access.conversation
    if data.subject is not None:
        _require_managed(access)
        conversation.subject = data.subject
    if data.urgent is not None:
        if not access.principal.is_staff:
            raise Forbidden("Only the care team can mark a conversation urgent.")
        conversation.urgent = data.urgent
    await session.flush()
    access.record(session, "conversation.update", urgent=conversation.urgent)
    _announce(session, hub, conversation)
    return await conversation_public(session, conversation, access.principal.id)


async def principal_conversation_ids(session: AsyncSession, principal: Principal) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(ConversationMember.conversation_id).where(
            ConversationMember.user_id == principal.id, ConversationMember.removed_at.is_(None)
        )
    )
    return set(rows.all())

"""Conversation access as a FastAPI dependency: the caller must be a current member, and still
entitled to the patient's messages (on the care team, the patient, or family whose grant
includes messages). Refusals are audited; anyone without access to the patient gets 404, so a
conversation's existence is not disclosed."""

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select

from backend.audit import service as audit
from backend.careteam.access import PatientAccess
from backend.careteam.permissions import admit_patient, patient_access
from backend.core.db import SessionDep
from backend.core.errors import Forbidden, NotFound
from backend.identity.permissions import CareUser, CurrentPrincipal, Principal
from backend.messaging import eligibility
from backend.messaging.models import Conversation, ConversationMember
from backend.messaging.service import ConversationAccess, basis_for
from backend.patients.models import Patient
from backend.realtime.hub import Hub
from shared.enums import AccessBasis, AuditOutcome, GrantScope
from shared.schemas.messaging import ConversationCreate

ConversationIdPath = Annotated[uuid.UUID, Path(description="The conversation's id.")]


def _refuse(session, principal: Principal, conversation_id: uuid.UUID, patient_id, status: int):
    audit.record(
        session,
        action="conversation.access_denied",
        actor=principal,
        patient_id=patient_id,
        outcome=AuditOutcome.denied,
        resource_type="conversation",
        resource_id=conversation_id,
    )
    if status == 403:
        raise Forbidden("You are not a member of this conversation.", keep_changes=True)
    raise NotFound("No conversation with this id is visible to you.", keep_changes=True)


async def load_access(
    session, principal: Principal, conversation_id: uuid.UUID
) -> ConversationAccess:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.organization_id != principal.organization_id:
        _refuse(session, principal, conversation_id, None, 404)
    assert conversation is not None
    patient = await session.get(Patient, conversation.patient_id)
    assert patient is not None
    entitled = principal.id in await eligibility.eligible_user_ids(session, patient)
    member = await session.scalar(
        select(ConversationMember).where(
            ConversationMember.conversation_id == conversation.id,
            ConversationMember.user_id == principal.id,
            ConversationMember.removed_at.is_(None),
        )
    )
    if member is None or not entitled:
        _refuse(session, principal, conversation_id, patient.id, 403 if entitled else 404)
    assert member is not None
    return ConversationAccess(
        conversation=conversation,
        patient=patient,
        member=member,
        principal=principal,
        basis=basis_for(principal, patient),
    )


async def _conversation_member(
    conversation_id: ConversationIdPath, principal: CurrentPrincipal, session: SessionDep
) -> ConversationAccess:
    return await load_access(session, principal, conversation_id)


ConversationMemberAccess = Annotated[ConversationAccess, Depends(_conversation_member)]


def _care_team_only(doing: str):
    """A conversation member who is also staff (a care-team member) may `doing`."""

    async def dependency(access: ConversationMemberAccess) -> ConversationAccess:
        if not access.principal.is_staff:
            raise Forbidden(f"Only the care team can {doing}.")
        return access

    return dependency


ConversationStaffAccess = Annotated[
    ConversationAccess, Depends(_care_team_only("see the history of a message"))
]
ConversationMemberManager = Annotated[
    ConversationAccess, Depends(_care_team_only("add people to a conversation"))
]


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(get_hub)]


MESSAGING_BASES = frozenset({AccessBasis.self, AccessBasis.care_team, AccessBasis.proxy})
"""Who takes part in a patient's conversations; emergency access opens the record, not them."""
_MESSAGING_DOING = "take part in this patient's conversations"

PatientMessages = Annotated[
    PatientAccess,
    Depends(
        patient_access(scope=GrantScope.messages, bases=MESSAGING_BASES, doing=_MESSAGING_DOING)
    ),
]
"""For routes with the patient in the path."""


async def _patient_in_body(
    body: ConversationCreate, principal: CareUser, session: SessionDep
) -> PatientAccess:
    return await admit_patient(
        session,
        principal,
        body.patient_id,
        scope=GrantScope.messages,
        bases=MESSAGING_BASES,
        doing=_MESSAGING_DOING,
    )


NewConversationAccess = Annotated[PatientAccess, Depends(_patient_in_body)]
"""For starting a conversation: the patient is named in the request body."""

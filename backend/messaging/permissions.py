"""Conversation access as a FastAPI dependency: the caller must be a current member, and still
entitled to the patient's messages (on the care team, the patient, or family whose grant
includes messages). Refusals are audited; anyone without access to the patient gets 404, so a
conversation's existence is not disclosed."""

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select

from backend.audit import service as audit
from backend.core.db import SessionDep
from backend.core.errors import Forbidden, NotFound
from backend.identity.permissions import CurrentPrincipal, Principal
from backend.messaging import eligibility
from backend.messaging.models import Conversation, ConversationMember
from backend.messaging.service import ConversationAccess, basis_for
from backend.patients.models import Patient
from backend.realtime.hub import Hub
from shared.enums import AuditOutcome, Role

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


async def _staff_member(access: ConversationMemberAccess) -> ConversationAccess:
    if not access.principal.is_staff:
        raise Forbidden("Only the care team can see the history of a message.")
    return access


ConversationStaffAccess = Annotated[ConversationAccess, Depends(_staff_member)]


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def patient_messages_access(session, principal: Principal, patient_id: uuid.UUID):
    """For routes that name the patient in the body: the principal's access to that patient's
    messages (team, self, or a grant with the messages scope), refused like a path lookup."""
    from backend.careteam.access import PatientAccess, resolve
    from shared.enums import GrantScope

    patient = await session.get(Patient, patient_id)
    unseen = "No patient with this id is visible to you."
    if patient is None or patient.organization_id != principal.organization_id:
        _refuse_patient(session, principal, patient_id, unseen, hidden=True)
    assert patient is not None
    access = await resolve(session, principal=principal, patient=patient)
    if isinstance(access, str):
        # As for patient routes: staff learn why; to others the record does not exist.
        hidden = not (principal.is_staff or principal.role == Role.admin)
        _refuse_patient(session, principal, patient_id, unseen if hidden else access, hidden=hidden)
    assert isinstance(access, PatientAccess)
    if GrantScope.messages not in access.scopes:
        _refuse_patient(
            session,
            principal,
            patient_id,
            f"{patient.given_name} has not shared their messages with you.",
        )
    return access


def _refuse_patient(
    session, principal: Principal, patient_id: uuid.UUID, reason: str, *, hidden: bool = False
) -> None:
    audit.record(
        session,
        action="patient.access_denied",
        actor=principal,
        outcome=AuditOutcome.denied,
        resource_type="patient",
        resource_id=patient_id,
    )
    if hidden:
        raise NotFound(reason, keep_changes=True)
    raise Forbidden(reason, keep_changes=True)

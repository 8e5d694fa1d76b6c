"""Messaging over REST. The websocket (`backend.realtime.routes`) calls the same services."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from backend.core.db import SessionDep
from backend.core.deps import SettingsDep
from backend.core.errors import ERROR_RESPONSES
from backend.identity.permissions import CareUser
from backend.messaging import files, membership, service
from backend.messaging.permissions import (
    ConversationMemberAccess,
    ConversationMemberManager,
    ConversationStaffAccess,
    HubDep,
    NewConversationAccess,
    PatientMessages,
)
from backend.messaging.schemas import (
    AttachmentPublic,
    ConversationCreate,
    ConversationPublic,
    ConversationResync,
    ConversationUpdate,
    MemberAdd,
    MessageCreate,
    MessageEdit,
    MessagePublic,
    MessageRetract,
    MessageRevisionPublic,
    ReadUpTo,
)
from shared.schemas.common import CursorPage, Page

router = APIRouter(tags=["messaging"], responses=ERROR_RESPONSES)


@router.get("/conversations", response_model=Page[ConversationPublic])
async def list_conversations(
    principal: CareUser,
    session: SessionDep,
    patient_id: Annotated[uuid.UUID | None, Query(description="Only this patient's.")] = None,
) -> Page[ConversationPublic]:
    """Conversations you are in, urgent first, then by latest message."""
    data = await service.list_conversations(session, principal=principal, patient_id=patient_id)
    return Page(data=data, count=len(data))


@router.post(
    "/conversations", response_model=ConversationPublic, status_code=status.HTTP_201_CREATED
)
async def create_conversation(
    body: ConversationCreate,
    access: NewConversationAccess,
    session: SessionDep,
    hub: HubDep,
    response: Response,
) -> ConversationPublic:
    """Start a group or one-to-one conversation about a patient (an existing one-to-one
    thread between the same two people is returned with 200)."""
    conversation, created = await membership.create_conversation(
        session, hub=hub, access=access, data=body
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return conversation


@router.get("/patients/{patient_id}/care-team-thread", response_model=ConversationPublic)
async def care_team_thread(
    access: PatientMessages, session: SessionDep, hub: HubDep
) -> ConversationPublic:
    """The patient's care-team conversation (created on first use)."""
    return await membership.care_team_thread_for(session, hub=hub, access=access)


@router.get("/conversations/{conversation_id}", response_model=ConversationPublic)
async def get_conversation(
    access: ConversationMemberAccess, session: SessionDep
) -> ConversationPublic:
    access.record(session, "conversation.read")
    return await service.conversation_public(session, access.conversation, access.principal.id)


@router.patch("/conversations/{conversation_id}", response_model=ConversationPublic)
async def update_conversation(
    body: ConversationUpdate, access: ConversationMemberAccess, session: SessionDep, hub: HubDep
) -> ConversationPublic:
    return await membership.update_conversation(session, hub=hub, access=access, data=body)


@router.post("/conversations/{conversation_id}/members", response_model=ConversationPublic)
async def add_member(
    body: MemberAdd, access: ConversationMemberManager, session: SessionDep, hub: HubDep
) -> ConversationPublic:
    return await membership.add_member(session, hub=hub, access=access, user_id=body.user_id)


@router.delete(
    "/conversations/{conversation_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def remove_member(
    user_id: uuid.UUID, access: ConversationMemberAccess, session: SessionDep, hub: HubDep
) -> None:
    """Remove someone (care team), or leave yourself. They lose the conversation at once."""
    await membership.remove_member(session, hub=hub, access=access, user_id=user_id)


@router.get("/conversations/{conversation_id}/messages", response_model=CursorPage[MessagePublic])
async def list_messages(
    access: ConversationMemberAccess,
    session: SessionDep,
    settings: SettingsDep,
    before: Annotated[int | None, Query(ge=1, description="Only messages before this seq.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CursorPage[MessagePublic]:
    """History, newest page first; each page is in seq order. Pass `next_cursor` as `before`."""
    data, cursor = await service.list_messages(
        session, keyring=settings.keyring, access=access, before=before, limit=limit
    )
    return CursorPage(data=data, next_cursor=cursor)


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessagePublic,
    status_code=status.HTTP_201_CREATED,
)
async def send_message(
    body: MessageCreate,
    access: ConversationMemberAccess,
    session: SessionDep,
    settings: SettingsDep,
    hub: HubDep,
    response: Response,
) -> MessagePublic:
    """Send. Retrying with the same `client_id` returns the stored message (200), adds nothing."""
    message, duplicate = await service.send_message(
        session, hub=hub, keyring=settings.keyring, access=access, data=body
    )
    if duplicate:
        response.status_code = status.HTTP_200_OK
    return message


@router.get("/conversations/{conversation_id}/resync", response_model=ConversationResync)
async def resync(
    access: ConversationMemberAccess,
    session: SessionDep,
    settings: SettingsDep,
    seq: Annotated[int, Query(ge=0, description="The last seq you have.")] = 0,
    change: Annotated[int, Query(ge=0, description="The last change counter you have.")] = 0,
) -> ConversationResync:
    """Everything after `seq`, in order, plus earlier messages changed after `change`."""
    return await service.resync(
        session, keyring=settings.keyring, access=access, seq=seq, change=change
    )


@router.post("/conversations/{conversation_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(
    body: ReadUpTo, access: ConversationMemberAccess, session: SessionDep, hub: HubDep
) -> None:
    await service.mark_read(session, hub=hub, access=access, seq=body.seq)


@router.patch(
    "/conversations/{conversation_id}/messages/{message_id}", response_model=MessagePublic
)
async def edit_message(
    message_id: uuid.UUID,
    body: MessageEdit,
    access: ConversationMemberAccess,
    session: SessionDep,
    settings: SettingsDep,
    hub: HubDep,
) -> MessagePublic:
    """Correct your own message; the earlier text stays in its history for staff."""
    return await service.edit_message(
        session,
        hub=hub,
        keyring=settings.keyring,
        access=access,
        message_id=message_id,
        body=body.body,
    )


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/retract",
    response_model=MessagePublic,
)
async def retract_message(
    message_id: uuid.UUID,
    body: MessageRetract,
    access: ConversationMemberAccess,
    session: SessionDep,
    settings: SettingsDep,
    hub: HubDep,
) -> MessagePublic:
    """Mark a message entered in error. Nothing is deleted; staff still see what it said."""
    return await service.retract_message(
        session,
        hub=hub,
        keyring=settings.keyring,
        access=access,
        message_id=message_id,
        reason=body.reason,
    )


@router.get(
    "/conversations/{conversation_id}/messages/{message_id}/history",
    response_model=Page[MessageRevisionPublic],
)
async def message_history(
    message_id: uuid.UUID,
    access: ConversationStaffAccess,
    session: SessionDep,
    settings: SettingsDep,
) -> Page[MessageRevisionPublic]:
    data = await service.message_history(
        session, keyring=settings.keyring, access=access, message_id=message_id
    )
    return Page(data=data, count=len(data))


@router.post(
    "/conversations/{conversation_id}/attachments",
    response_model=AttachmentPublic,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload_attachment(
    request: Request,
    access: ConversationMemberAccess,
    session: SessionDep,
    settings: SettingsDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> AttachmentPublic:
    """Upload a photo (JPEG, PNG, GIF, WebP) or PDF up to 10 MB as the raw request body; then
    send a message with its `attachment_id`. The type is read from the bytes."""
    data = await request.body()
    return await files.store(
        session, settings=settings, access=access, data=data, filename=filename
    )


@router.get(
    "/conversations/{conversation_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(
    attachment_id: uuid.UUID,
    access: ConversationMemberAccess,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    public, data = await files.load(
        session, settings=settings, access=access, attachment_id=attachment_id
    )
    return Response(
        content=data,
        media_type=public.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{public.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )

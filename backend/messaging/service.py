"""The rules of messaging. Routes and the websocket call these; nothing else writes messages.

Order of work for every change: check, write, flush, audit, commit (by the caller), then fan
out (queued with `after_commit`), so a socket never hears of something that was not stored.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.core.crypto import Keyring
from backend.core.db import after_commit
from backend.core.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from backend.core.types import utcnow
from backend.identity.models import User
from backend.identity.permissions import Principal
from backend.messaging import eligibility
from backend.messaging.models import (
    Attachment,
    Conversation,
    ConversationMember,
    Message,
    MessageRevision,
)
from backend.notifications import service as notifications
from backend.patients.models import Patient
from backend.realtime.hub import Hub
from shared.enums import (
    AccessBasis,
    ConversationKind,
    MessageKind,
    MessageState,
    NotificationCategory,
    Role,
)
from shared.schemas.messaging import (
    AttachmentPublic,
    ConversationMemberPublic,
    ConversationPublic,
    ConversationResync,
    MessageCreate,
    MessageFrame,
    MessagePublic,
    MessageRevisionPublic,
    ReceiptFrame,
    ServerFrameType,
)

CARE_TEAM_SUBJECT = "Care team"
PUSH_TITLE = "New secure message"
PUSH_BODY = "You have a new secure message in CareCircle."
RESYNC_LIMIT = 1000
RETRACTED_NOTICE = "Message retracted (entered in error)"


@dataclass(frozen=True, slots=True)
class ConversationAccess:
    """A member's admitted access to one conversation."""

    conversation: Conversation
    patient: Patient
    member: ConversationMember
    principal: Principal
    basis: AccessBasis

    def record(self, session: AsyncSession, action: str, **detail: object) -> None:
        audit.record(
            session,
            action=action,
            actor=self.principal,
            patient_id=self.patient.id,
            access_basis=self.basis,
            on_behalf_of_id=self.patient.id if self.basis == AccessBasis.proxy else None,
            resource_type="conversation",
            resource_id=self.conversation.id,
            detail=dict(detail) or None,
        )


def basis_for(principal: Principal, patient: Patient) -> AccessBasis:
    if patient.user_id == principal.id:
        return AccessBasis.self
    if principal.role == Role.family:
        return AccessBasis.proxy
    return AccessBasis.care_team


# -- reading ---------------------------------------------------------------------------------


def message_aad(message_id: uuid.UUID) -> str:
    return f"message:{message_id}"


def attachment_name_aad(attachment_id: uuid.UUID) -> str:
    return f"attachment-name:{attachment_id}"


def revision_aad(message_id: uuid.UUID, revision: int) -> str:
    return f"message:{message_id}:revision:{revision}"


async def _names(session: AsyncSession, user_ids: Iterable[uuid.UUID | None]) -> dict:
    ids = {u for u in user_ids if u is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return dict(rows.tuples().all())


async def _attachments(
    session: AsyncSession, keyring: Keyring, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, AttachmentPublic]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.scalars(select(Attachment).where(Attachment.id.in_(wanted)))
    return {a.id: attachment_public(keyring, a) for a in rows}


def attachment_public(keyring: Keyring, attachment: Attachment) -> AttachmentPublic:
    return AttachmentPublic(
        id=attachment.id,
        filename=keyring.decrypt_text(
            attachment.key_id, attachment.filename_cipher, attachment_name_aad(attachment.id)
        ),
        content_type=attachment.content_type,
        size=attachment.size,
    )


def _public(
    keyring: Keyring,
    message: Message | Row,
    names: dict,
    attachments: dict[uuid.UUID, AttachmentPublic],
) -> MessagePublic:
    """The message as members see it. `message` is an ORM row or a plain table row (resync
    reads thousands at once, without the ORM's cost); the values come from our own database
    and are already the right types, so the model is built without validating them again."""
    retracted = message.retracted_at is not None
    if retracted:
        state, body = MessageState.retracted, None
    else:
        state = MessageState.edited if message.edited_at else MessageState.active
        body = keyring.decrypt_text(message.key_id, message.body_cipher, message_aad(message.id))
    return MessagePublic.model_construct(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        change=message.change,
        client_id=message.client_id,
        sender_id=message.sender_id,
        sender_name=names.get(message.sender_id, "CareCircle"),
        kind=MessageKind(message.kind),
        state=state,
        body=body,
        attachment=None if retracted else attachments.get(message.attachment_id),
        urgent=message.urgent,
        created_at=message.created_at,
        edited_at=message.edited_at,
        retracted_at=message.retracted_at,
    )


async def publish_many(
    session: AsyncSession, keyring: Keyring, messages: Sequence[Message | Row]
) -> list[MessagePublic]:
    names = await _names(session, (m.sender_id for m in messages))
    attachments = await _attachments(session, keyring, (m.attachment_id for m in messages))
    return [_public(keyring, m, names, attachments) for m in messages]


async def active_member_ids(session: AsyncSession, conversation_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(ConversationMember.user_id).where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.removed_at.is_(None),
        )
    )
    return list(rows.all())


async def conversation_public(
    session: AsyncSession, conversation: Conversation, viewer_id: uuid.UUID
) -> ConversationPublic:
    return (await conversations_public(session, [conversation], viewer_id))[0]


async def conversations_public(
    session: AsyncSession, conversations: Sequence[Conversation], viewer_id: uuid.UUID
) -> list[ConversationPublic]:
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    members = await session.execute(
        select(ConversationMember, User)
        .join(User, User.id == ConversationMember.user_id)
        .where(ConversationMember.conversation_id.in_(ids), ConversationMember.removed_at.is_(None))
        .order_by(User.full_name)
    )
    by_conversation: dict[uuid.UUID, list[ConversationMemberPublic]] = {i: [] for i in ids}
    read_seq: dict[uuid.UUID, int] = {}
    for member, user in members:
        by_conversation[member.conversation_id].append(
            ConversationMemberPublic(
                user_id=user.id,
                full_name=user.full_name,
                role=Role(user.role),
                read_seq=member.read_seq,
            )
        )
        if user.id == viewer_id:
            read_seq[member.conversation_id] = member.read_seq
    viewer = (
        select(ConversationMember.conversation_id, ConversationMember.read_seq)
        .where(ConversationMember.user_id == viewer_id, ConversationMember.conversation_id.in_(ids))
        .subquery()
    )
    unread_rows = await session.execute(
        select(Message.conversation_id, func.count())
        .join(viewer, viewer.c.conversation_id == Message.conversation_id)
        .where(
            Message.seq > viewer.c.read_seq,
            Message.retracted_at.is_(None),
            (Message.sender_id.is_(None)) | (Message.sender_id != viewer_id),
        )
        .group_by(Message.conversation_id)
    )
    unread = dict(unread_rows.tuples().all())
    patient_rows = await session.execute(
        select(Patient.id, Patient.given_name, Patient.family_name).where(
            Patient.id.in_({c.patient_id for c in conversations})
        )
    )
    patients = {pid: f"{given} {family}" for pid, given, family in patient_rows.tuples()}
    return [
        ConversationPublic(
            id=c.id,
            patient_id=c.patient_id,
            patient_name=patients.get(c.patient_id, ""),
            kind=ConversationKind(c.kind),
            subject=c.subject,
            urgent=c.urgent,
            last_seq=c.last_seq,
            last_change=c.last_change,
            last_message_at=c.last_message_at,
            unread=unread.get(c.id, 0),
            members=by_conversation[c.id],
            created_at=c.created_at,
        )
        for c in conversations
    ]


async def list_conversations(
    session: AsyncSession, *, principal: Principal, patient_id: uuid.UUID | None
) -> list[ConversationPublic]:
    statement = (
        select(Conversation)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(
            ConversationMember.user_id == principal.id,
            ConversationMember.removed_at.is_(None),
            Conversation.organization_id == principal.organization_id,
        )
        .order_by(
            Conversation.urgent.desc(),
            Conversation.last_message_at.desc().nulls_last(),
            Conversation.created_at.desc(),
        )
        .limit(500)
    )
    if patient_id is not None:
        statement = statement.where(Conversation.patient_id == patient_id)
    conversations = list((await session.scalars(statement)).all())
    # Drop any the person is no longer entitled to (e.g. a grant that just expired).
    allowed: list[Conversation] = []
    eligible_cache: dict[uuid.UUID, set[uuid.UUID]] = {}
    for conversation in conversations:
        if conversation.patient_id not in eligible_cache:
            patient = await session.get(Patient, conversation.patient_id)
            assert patient is not None
            eligible_cache[patient.id] = await eligibility.eligible_user_ids(session, patient)
        if principal.id in eligible_cache[conversation.patient_id]:
            allowed.append(conversation)
    result = await conversations_public(session, allowed, principal.id)
    audit.record(
        session,
        action="conversation.list",
        actor=principal,
        patient_id=patient_id,
        resource_type="conversation",
        detail={"count": len(result)},
    )
    return result


async def list_messages(
    session: AsyncSession,
    *,
    keyring: Keyring,
    access: ConversationAccess,
    before: int | None,
    limit: int,
) -> tuple[list[MessagePublic], str | None]:
    """A page of history, oldest first within the page; the cursor reads the page before."""
    statement = select(Message).where(Message.conversation_id == access.conversation.id)
    if before is not None:
        statement = statement.where(Message.seq < before)
    rows = list((await session.scalars(statement.order_by(Message.seq.desc()).limit(limit))).all())
    rows.reverse()
    messages = await publish_many(session, keyring, rows)
    cursor = str(rows[0].seq) if rows and len(rows) == limit and rows[0].seq > 1 else None
    if rows:
        access.record(
            session, "message.read", from_seq=rows[0].seq, to_seq=rows[-1].seq, count=len(rows)
        )
    return messages, cursor


async def resync(
    session: AsyncSession,
    *,
    keyring: Keyring,
    access: ConversationAccess,
    seq: int,
    change: int,
    limit: int = RESYNC_LIMIT,
) -> ConversationResync:
    conversation = access.conversation
    await session.refresh(conversation)
    table = Message.__table__
    new_rows = list(
        (
            await session.execute(
                select(table)
                .where(table.c.conversation_id == conversation.id, table.c.seq > seq)
                .order_by(table.c.seq)
                .limit(limit)
            )
        ).all()
    )
    changed_rows: list[Row] = []
    if change < conversation.last_change:
        changed_rows = list(
            (
                await session.execute(
                    select(table)
                    .where(
                        Message.conversation_id == conversation.id,
                        Message.seq <= seq,
                        Message.change > change,
                    )
                    .order_by(Message.seq)
                )
            ).all()
        )
    fresh, changed = await publish_many(session, keyring, new_rows), []
    if changed_rows:
        changed = await publish_many(session, keyring, changed_rows)
    if new_rows or changed_rows:
        access.record(
            session,
            "message.read",
            from_seq=new_rows[0].seq if new_rows else None,
            to_seq=new_rows[-1].seq if new_rows else None,
            count=len(new_rows),
            changed=len(changed_rows),
            resync=True,
        )
    return ConversationResync(
        conversation_id=conversation.id,
        messages=fresh,
        changed=changed,
        last_seq=conversation.last_seq,
        last_change=conversation.last_change,
        has_more=len(new_rows) == limit and new_rows[-1].seq < conversation.last_seq,
    )


# -- sending ---------------------------------------------------------------------------------


async def send_message(
    session: AsyncSession,
    *,
    hub: Hub,
    keyring: Keyring,
    access: ConversationAccess,
    data: MessageCreate,
    skip_connection: str | None = None,
) -> tuple[MessagePublic, bool]:
    """Store a message (or find the one this client_id already stored). Returns it and whether
    it was a duplicate. Fan-out and push jobs happen only for a new message."""
    conversation, principal = access.conversation, access.principal
    existing = await _by_client_id(session, conversation.id, principal.id, data.client_id)
    if existing is not None:
        return (await publish_many(session, keyring, [existing]))[0], True
    if not data.body and data.attachment_id is None:
        raise BadRequest("Write a message or attach a file before sending.", code="empty_message")
    if data.attachment_id is not None:
        await _check_attachment(session, conversation.id, principal.id, data.attachment_id)
    try:
        async with session.begin_nested():
            message = await _insert(session, keyring, access, data)
    except IntegrityError:
        # The same client_id raced in from another connection: the first one stored wins.
        existing = await _by_client_id(session, conversation.id, principal.id, data.client_id)
        if existing is None:
            raise
        return (await publish_many(session, keyring, [existing]))[0], True
    public = _public(
        keyring,
        message,
        {principal.id: principal.user.full_name},
        await _attachments(session, keyring, [message.attachment_id]),
    )
    recipients = await active_member_ids(session, conversation.id)
    others = [u for u in recipients if u != principal.id]
    online = await hub.presence.online(others)
    await notifications.notify_unless_unread(
        session,
        user_ids=[u for u in others if u not in online],
        category=NotificationCategory.messages,
        title=PUSH_TITLE,
        body=PUSH_BODY,
        link=f"/messages/{conversation.id}",
        urgent=conversation.urgent,
        collapse_key=f"conversation:{conversation.id}",
    )
    access.record(
        session,
        "message.create",
        seq=message.seq,
        attachment=data.attachment_id is not None,
    )
    frame = MessageFrame(type=ServerFrameType.message_created, message=public).model_dump_json()

    async def fan_out() -> None:
        await hub.deliver(
            conversation.id, recipients, frame, seq=message.seq, skip_connection=skip_connection
        )

    after_commit(session, fan_out)
    return public, False


async def _by_client_id(
    session: AsyncSession, conversation_id: uuid.UUID, sender_id: uuid.UUID, client_id: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.sender_id == sender_id,
            Message.client_id == client_id,
        )
    )


async def _check_attachment(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    sender_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> None:
    attachment = await session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.conversation_id != conversation_id
        or attachment.uploader_id != sender_id
    ):
        raise Unprocessable(
            "That attachment is not one you uploaded to this conversation. Upload it again.",
            code="unknown_attachment",
        )
    used = await session.scalar(select(Message.id).where(Message.attachment_id == attachment_id))
    if used is not None:
        raise Conflict(
            "That attachment is already in a message. Upload the file again to resend it.",
            code="attachment_used",
        )


async def _insert(
    session: AsyncSession, keyring: Keyring, access: ConversationAccess, data: MessageCreate
) -> Message:
    now = utcnow()
    seq = (
        await session.execute(
            update(Conversation)
            .where(Conversation.id == access.conversation.id)
            .values(last_seq=Conversation.last_seq + 1, last_message_at=now)
            .returning(Conversation.last_seq)
        )
    ).scalar_one()
    message = Message(
        conversation_id=access.conversation.id,
        seq=seq,
        sender_id=access.principal.id,
        client_id=data.client_id,
        kind=MessageKind.text,
        body_cipher=b"",
        key_id="",
        attachment_id=data.attachment_id,
        created_at=now,
    )
    message.key_id, message.body_cipher = keyring.encrypt_text(data.body, message_aad(message.id))
    session.add(message)
    await session.execute(
        update(ConversationMember)
        .where(ConversationMember.id == access.member.id)
        .values(read_seq=seq)
    )
    await session.flush()
    access.conversation.last_seq = seq
    access.conversation.last_message_at = now
    return message


async def post_system_message(
    session: AsyncSession,
    *,
    hub: Hub,
    keyring: Keyring,
    conversation: Conversation,
    body: str,
    urgent: bool = False,
) -> Message:
    """A message written by CareCircle itself (e.g. an urgent assessment alert)."""
    seq = (
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(last_seq=Conversation.last_seq + 1, last_message_at=utcnow())
            .returning(Conversation.last_seq)
        )
    ).scalar_one()
    message = Message(
        conversation_id=conversation.id,
        seq=seq,
        kind=MessageKind.system,
        urgent=urgent,
        body_cipher=b"",
        key_id="",
    )
    message.key_id, message.body_cipher = keyring.encrypt_text(body, message_aad(message.id))
    session.add(message)
    await session.flush()
    public = (await publish_many(session, keyring, [message]))[0]
    recipients = await active_member_ids(session, conversation.id)
    frame = MessageFrame(type=ServerFrameType.message_created, message=public).model_dump_json()

    async def fan_out() -> None:
        await hub.deliver(conversation.id, recipients, frame, seq=seq)

    after_commit(session, fan_out)
    return message


# -- receipts --------------------------------------------------------------------------------


async def mark_read(
    session: AsyncSession, *, hub: Hub, access: ConversationAccess, seq: int
) -> int:
    """Move the member's read pointer forward (never back, never past the newest message)."""
    await session.refresh(access.conversation)
    target = min(seq, access.conversation.last_seq)
    member = access.member
    if target <= member.read_seq:
        return member.read_seq
    await session.execute(
        update(ConversationMember)
        .where(ConversationMember.id == member.id, ConversationMember.read_seq < target)
        .values(read_seq=target)
    )
    member.read_seq = target
    recipients = await active_member_ids(session, access.conversation.id)
    frame = ReceiptFrame(
        conversation_id=access.conversation.id,
        user_id=access.principal.id,
        full_name=access.principal.user.full_name,
        read_seq=target,
    ).model_dump_json()

    async def fan_out() -> None:
        await hub.deliver(access.conversation.id, recipients, frame)

    after_commit(session, fan_out)
    return target


# -- edits and retractions -------------------------------------------------------------------


async def _message(session: AsyncSession, access: ConversationAccess, message_id: uuid.UUID):
    message = await session.get(Message, message_id)
    if message is None or message.conversation_id != access.conversation.id:
        raise NotFound("No message with this id in this conversation.")
    return message


async def _bump_change(session: AsyncSession, conversation: Conversation) -> int:
    change = (
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(last_change=Conversation.last_change + 1)
            .returning(Conversation.last_change)
        )
    ).scalar_one()
    conversation.last_change = change
    return change


async def _keep_revision(
    session: AsyncSession,
    keyring: Keyring,
    message: Message,
    editor_id: uuid.UUID,
    reason: str | None,
) -> None:
    count = await session.scalar(
        select(func.count()).where(MessageRevision.message_id == message.id)
    )
    revision = (count or 0) + 1
    body = keyring.decrypt_text(message.key_id, message.body_cipher, message_aad(message.id))
    key_id, cipher = keyring.encrypt_text(body, revision_aad(message.id, revision))
    session.add(
        MessageRevision(
            message_id=message.id,
            revision=revision,
            body_cipher=cipher,
            key_id=key_id,
            editor_id=editor_id,
            reason=reason,
        )
    )


async def _announce_update(
    session: AsyncSession, hub: Hub, keyring: Keyring, access: ConversationAccess, message: Message
) -> MessagePublic:
    await session.flush()
    public = (await publish_many(session, keyring, [message]))[0]
    recipients = await active_member_ids(session, access.conversation.id)
    frame = MessageFrame(type=ServerFrameType.message_updated, message=public).model_dump_json()

    async def fan_out() -> None:
        await hub.deliver(access.conversation.id, recipients, frame)

    after_commit(session, fan_out)
    return public


async def edit_message(
    session: AsyncSession,
    *,
    hub: Hub,
    keyring: Keyring,
    access: ConversationAccess,
    message_id: uuid.UUID,
    body: str,
) -> MessagePublic:
    message = await _message(session, access, message_id)
    if message.sender_id != access.principal.id:
        raise Forbidden("Only the person who wrote a message can edit it.")
    if message.retracted_at is not None:
        raise Conflict("A retracted message cannot be edited.", code="message_retracted")
    await _keep_revision(session, keyring, message, access.principal.id, "edited")
    message.key_id, message.body_cipher = keyring.encrypt_text(body, message_aad(message.id))
    message.edited_at = utcnow()
    message.change = await _bump_change(session, access.conversation)
    access.record(session, "message.edit", seq=message.seq)
    return await _announce_update(session, hub, keyring, access, message)


async def retract_message(
    session: AsyncSession,
    *,
    hub: Hub,
    keyring: Keyring,
    access: ConversationAccess,
    message_id: uuid.UUID,
    reason: str,
) -> MessagePublic:
    """Mark entered in error: hidden from everyone's thread, kept (with its text) for staff."""
    message = await _message(session, access, message_id)
    is_author = message.sender_id == access.principal.id
    if not is_author and not access.principal.is_staff:
        raise Forbidden("Only the author or a member of the care team can retract a message.")
    if message.retracted_at is not None:
        raise Conflict("This message was already retracted.", code="message_retracted")
    await _keep_revision(session, keyring, message, access.principal.id, reason)
    message.retracted_at = utcnow()
    message.retracted_by_id = access.principal.id
    message.change = await _bump_change(session, access.conversation)
    access.record(session, "message.retract", seq=message.seq)
    return await _announce_update(session, hub, keyring, access, message)


async def message_history(
    session: AsyncSession, *, keyring: Keyring, access: ConversationAccess, message_id: uuid.UUID
) -> list[MessageRevisionPublic]:
    message = await _message(session, access, message_id)
    rows = await session.execute(
        select(MessageRevision, User.full_name)
        .join(User, User.id == MessageRevision.editor_id)
        .where(MessageRevision.message_id == message.id)
        .order_by(MessageRevision.revision)
    )
    history = [
        MessageRevisionPublic(
            revision=revision.revision,
            body=keyring.decrypt_text(
                revision.key_id,
                revision.body_cipher,
                revision_aad(message.id, revision.revision),
            ),
            editor_name=name,
            replaced_at=revision.replaced_at,
            reason=revision.reason,
        )
        for revision, name in rows
    ]
    access.record(session, "message.history", seq=message.seq, revisions=len(history))
    return history

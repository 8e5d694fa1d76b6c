"""Attachments: checked, encrypted and stored by `attachments`, recorded and audited here."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.crypto import KeyError_
from backend.core.errors import BadRequest, NotFound, PayloadTooLarge, Unprocessable
from backend.messaging import attachments
from backend.messaging.models import Attachment, Message
from backend.messaging.service import (
    ConversationAccess,
    attachment_name_aad,
    attachment_public,
)
from shared.schemas.messaging import AttachmentPublic


async def store(
    session: AsyncSession,
    *,
    settings: Settings,
    access: ConversationAccess,
    data: bytes,
    filename: str | None,
) -> AttachmentPublic:
    if not data:
        raise BadRequest("The file is empty. Choose a photo or a PDF.", code="empty_file")
    if len(data) > settings.max_attachment_bytes:
        limit = settings.max_attachment_bytes / (1024 * 1024)
        raise PayloadTooLarge(f"Files can be at most {limit:g} MB.")
    content_type = attachments.sniff(data)
    if content_type is None:
        raise Unprocessable(
            "Only photos (JPEG, PNG, GIF, WebP) and PDF documents can be attached; this file is "
            "neither, whatever its name says.",
            code="unsupported_file_type",
        )
    attachment_id = uuid.uuid4()
    name = attachments.clean_filename(filename, content_type)
    keyring = settings.keyring
    key_id = await attachments.write(settings.attachment_dir, keyring, attachment_id, data)
    # The keyring is fixed for the life of the settings, so both use the same key.
    name_key, name_cipher = keyring.encrypt_text(name, attachment_name_aad(attachment_id))
    assert name_key == key_id
    attachment = Attachment(
        id=attachment_id,
        conversation_id=access.conversation.id,
        uploader_id=access.principal.id,
        content_type=content_type,
        size=len(data),
        sha256=attachments.digest(data),
        filename_cipher=name_cipher,
        key_id=name_key,
    )
    session.add(attachment)
    await session.flush()
    access.record(session, "attachment.upload", attachment=str(attachment_id), size=len(data))
    return attachment_public(keyring, attachment)


async def load(
    session: AsyncSession,
    *,
    settings: Settings,
    access: ConversationAccess,
    attachment_id: uuid.UUID,
) -> tuple[AttachmentPublic, bytes]:
    """Only members of the conversation the file was sent in; a retracted message's file is
    no longer served."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.conversation_id != access.conversation.id:
        raise NotFound("No attachment with this id in this conversation.")
    if attachment.uploader_id != access.principal.id:
        sent = await session.scalar(select(Message).where(Message.attachment_id == attachment_id))
        if sent is None or sent.retracted_at is not None:
            raise NotFound("No attachment with this id in this conversation.")
    try:
        data = await attachments.read(
            settings.attachment_dir, settings.keyring, attachment.id, attachment.key_id
        )
    except (FileNotFoundError, KeyError_):
        raise NotFound(
            "This file is no longer available. Ask the sender to attach it again."
        ) from None
    access.record(session, "attachment.download", attachment=str(attachment_id))
    return attachment_public(settings.keyring, attachment), data

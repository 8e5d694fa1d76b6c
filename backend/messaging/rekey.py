"""Moving stored messages and files to the active encryption key (`python -m backend keys
reencrypt`). Safe to stop and run again: each row is rewritten in its own small batch and
carries its key id, so rows already moved are skipped and old ones stay readable meanwhile."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from backend.core.crypto import Keyring
from backend.core.db import Database
from backend.messaging import attachments
from backend.messaging.models import Attachment, Message, MessageRevision

BATCH = 500


@dataclass
class RekeyReport:
    messages: int = 0
    revisions: int = 0
    attachments: int = 0


async def reencrypt(db: Database, keyring: Keyring, attachment_dir: Path) -> RekeyReport:
    report = RekeyReport()
    active = keyring.active_id
    while True:
        async with db.session() as session:
            rows = (
                await session.scalars(select(Message).where(Message.key_id != active).limit(BATCH))
            ).all()
            for message in rows:
                aad = f"message:{message.id}"
                body = keyring.decrypt(message.key_id, message.body_cipher, aad)
                message.key_id, message.body_cipher = keyring.encrypt(body, aad)
            await session.commit()
        report.messages += len(rows)
        if len(rows) < BATCH:
            break
    while True:
        async with db.session() as session:
            revisions = (
                await session.scalars(
                    select(MessageRevision).where(MessageRevision.key_id != active).limit(BATCH)
                )
            ).all()
            for revision in revisions:
                aad = f"message:{revision.message_id}:revision:{revision.revision}"
                body = keyring.decrypt(revision.key_id, revision.body_cipher, aad)
                revision.key_id, revision.body_cipher = keyring.encrypt(body, aad)
            await session.commit()
        report.revisions += len(revisions)
        if len(revisions) < BATCH:
            break
    while True:
        async with db.session() as session:
            files = (
                await session.scalars(
                    select(Attachment).where(Attachment.key_id != active).limit(BATCH)
                )
            ).all()
            for attachment in files:
                name_aad = f"attachment-name:{attachment.id}"
                name = keyring.decrypt(attachment.key_id, attachment.filename_cipher, name_aad)
                # The file first: if we stop between the two, the row still names the old key
                # and reading falls back to the active one (see attachments.read).
                await attachments.rewrite(attachment_dir, keyring, attachment.id, attachment.key_id)
                attachment.key_id, attachment.filename_cipher = keyring.encrypt(name, name_aad)
            await session.commit()
        report.attachments += len(files)
        if len(files) < BATCH:
            break
    return report

"""Moving stored messages and files to the active encryption key (`python -m backend keys
reencrypt`). Safe to stop and run again: each row is rewritten in its own small batch and
carries its key id, so rows already moved are skipped and old ones stay readable meanwhile."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.core.crypto import Keyring
from backend.core.db import Database
from backend.messaging import attachments
from backend.messaging.models import Attachment, Message, MessageRevision
from backend.messaging.service import attachment_name_aad, message_aad, revision_aad

BATCH = 500


@dataclass
class RekeyReport:
    messages: int = 0
    revisions: int = 0
    attachments: int = 0


async def _each_batch(
    db: Database, model: Any, active: str, rewrite: Callable[[Any], Awaitable[None]]
) -> int:
    """Rewrite every row of `model` not under the `active` key, a batch per transaction."""
    done = 0
    while True:
        async with db.session() as session:
            rows = (
                await session.scalars(select(model).where(model.key_id != active).limit(BATCH))
            ).all()
            for row in rows:
                await rewrite(row)
            await session.commit()
        done += len(rows)
        if len(rows) < BATCH:
            return done


async def reencrypt(db: Database, keyring: Keyring, attachment_dir: Path) -> RekeyReport:
    active = keyring.active_id

    async def message(row: Message) -> None:
        aad = message_aad(row.id)
        body = keyring.decrypt(row.key_id, row.body_cipher, aad)
        row.key_id, row.body_cipher = keyring.encrypt(body, aad)

    async def revision(row: MessageRevision) -> None:
        aad = revision_aad(row.message_id, row.revision)
        body = keyring.decrypt(row.key_id, row.body_cipher, aad)
        row.key_id, row.body_cipher = keyring.encrypt(body, aad)

    async def attachment(row: Attachment) -> None:
        name_aad = attachment_name_aad(row.id)
        name = keyring.decrypt(row.key_id, row.filename_cipher, name_aad)
        # The file first: if we stop between the two, the row still names the old key and
        # reading falls back to the active one (see attachments.read).
        await attachments.rewrite(attachment_dir, keyring, row.id, row.key_id)
        row.key_id, row.filename_cipher = keyring.encrypt(name, name_aad)

    return RekeyReport(
        messages=await _each_batch(db, Message, active, message),
        revisions=await _each_batch(db, MessageRevision, active, revision),
        attachments=await _each_batch(db, Attachment, active, attachment),
    )

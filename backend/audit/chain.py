"""Writing and checking the hash chain.

Entries queued with `service.record` wait in the session and are chained inside the commit that
carries the change they describe (a `before_commit` hook), so an audited write and its entry land
together or not at all. Appending takes a lock: an advisory transaction lock on PostgreSQL; on
SQLite every transaction already holds the single write lock (see `core.db`).
"""

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.audit.models import GENESIS_HASH, AuditEntry

PENDING_KEY = "audit_pending"
AUDIT_LOCK_KEY = 0x0CA2EC1C  # any constant; names the advisory lock that serialises the chain
_HASHED_FIELDS = (
    "id",
    "occurred_at",
    "organization_id",
    "actor_id",
    "actor_role",
    "on_behalf_of_id",
    "patient_id",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "access_basis",
    "ip",
    "user_agent",
    "detail",
    "prev_hash",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if value is None or isinstance(value, str | int | bool | dict | list):
        return value
    return str(value)


def compute_hash(entry: AuditEntry) -> str:
    payload = {name: _canonical(getattr(entry, name)) for name in _HASHED_FIELDS}
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _append_pending(session: Session) -> None:
    pending: list[AuditEntry] | None = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    tail = session.execute(
        select(AuditEntry.id, AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    last_id, last_hash = (tail[0], tail[1]) if tail else (0, GENESIS_HASH)
    for entry in pending:
        last_id += 1
        entry.id = last_id
        entry.prev_hash = last_hash
        entry.entry_hash = last_hash = compute_hash(entry)
        session.add(entry)


def _drop_pending(session: Session, *_: Any) -> None:
    session.info.pop(PENDING_KEY, None)


def install_chain_hooks() -> None:
    """Chain queued entries on every commit of every session; forget them on rollback."""
    if not event.contains(Session, "before_commit", _append_pending):
        event.listen(Session, "before_commit", _append_pending)
        event.listen(Session, "after_rollback", _drop_pending)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None


async def _entries(session: AsyncSession, batch: int = 2000) -> AsyncIterator[AuditEntry]:
    after = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1].id
        session.expunge_all()


async def verify_chain(session: AsyncSession) -> VerifyReport:
    """Walk the chain from the start; report the first entry whose link does not hold."""
    expected_id, expected_prev, checked = 1, GENESIS_HASH, 0
    async for entry in _entries(session):
        if entry.id != expected_id:
            return VerifyReport(
                False, checked, expected_id, f"entry {expected_id} is missing (next is {entry.id})"
            )
        if entry.prev_hash != expected_prev:
            return VerifyReport(False, checked, entry.id, "does not link to the entry before it")
        if compute_hash(entry) != entry.entry_hash:
            return VerifyReport(False, checked, entry.id, "content does not match its hash")
        checked += 1
        expected_id, expected_prev = entry.id + 1, entry.entry_hash
    return VerifyReport(True, checked)

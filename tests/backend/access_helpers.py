"""Helpers for the consent, care-team, audit and bad-input tests: signing in without the slow
password check, reading the audit trail straight from the database, and moving a row's clock."""

import uuid
from typing import Any

import httpx
from sqlalchemy import select, update

from backend.audit.models import AuditEntry
from backend.core.config import Settings
from backend.core.db import Database
from backend.core.security import create_access_token
from backend.identity.models import AuthSession, User


async def headers_for(db: Database, settings: Settings, user: User) -> dict[str, str]:
    """A bearer header for a fresh device session of `user`, as /auth/login would issue, minus
    the argon2 check (tests/backend/test_auth* cover sign-in itself)."""
    auth_session = AuthSession(user_id=user.id)
    async with db.session() as session:
        session.add(auth_session)
        await session.commit()
    token = create_access_token(
        settings, user_id=user.id, session_id=auth_session.id, role=user.role
    )
    return {"Authorization": f"Bearer {token}"}


async def set_columns(db: Database, model: type, row_id: uuid.UUID, **values: Any) -> None:
    """Change a row behind the API's back (e.g. move an expiry into the past)."""
    async with db.session() as session:
        await session.execute(update(model).where(model.id == row_id).values(**values))
        await session.commit()


async def audit_entries(db: Database, **equals: Any) -> list[AuditEntry]:
    """Audit entries in chain order, optionally only those whose columns equal the values."""
    statement = select(AuditEntry).order_by(AuditEntry.id)
    for column, value in equals.items():
        statement = statement.where(getattr(AuditEntry, column) == value)
    async with db.session() as session:
        return list((await session.scalars(statement)).all())


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error of this status with the shared error body; returns the body's
    `error` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"].strip()
    if code is not None:
        assert error["code"] == code, error
    return error

"""Issuing, rotating and revoking the tokens of a signed-in device (an `AuthSession`)."""

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.core.config import Settings
from backend.core.db import RequestContext, after_commit
from backend.core.errors import Unauthorized
from backend.core.security import create_access_token, new_opaque_token, token_digest
from backend.core.types import utcnow
from backend.identity.models import AuthSession, RefreshToken, User
from backend.notifications import devices as push_devices
from shared.enums import AuditOutcome
from shared.schemas.identity import TokenPair


async def _issue_refresh(
    session: AsyncSession, settings: Settings, auth_session_id: uuid.UUID
) -> str:
    token = new_opaque_token()
    session.add(
        RefreshToken(
            session_id=auth_session_id,
            token_hash=token_digest(token),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
        )
    )
    return token


def _pair(settings: Settings, user: User, auth_session_id: uuid.UUID, refresh: str) -> TokenPair:
    return TokenPair(
        access_token=create_access_token(
            settings, user_id=user.id, session_id=auth_session_id, role=user.role
        ),
        refresh_token=refresh,
        expires_in=settings.access_token_minutes * 60,
        refresh_expires_in=settings.refresh_token_days * 86400,
    )


async def start_session(session: AsyncSession, *, settings: Settings, user: User) -> TokenPair:
    context: RequestContext = session.info.get("context") or RequestContext()
    auth_session = AuthSession(user_id=user.id, ip=context.ip, user_agent=context.user_agent)
    session.add(auth_session)
    await session.flush()
    refresh = await _issue_refresh(session, settings, auth_session.id)
    return _pair(settings, user, auth_session.id, refresh)


async def rotate(session: AsyncSession, *, settings: Settings, refresh_token: str) -> TokenPair:
    """Spend a refresh token for a new pair. Presenting an already spent token means two parties
    hold it: the whole session is revoked, the thief's and the owner's copies alike."""
    invalid = Unauthorized("This sign-in has ended. Sign in again.", code="invalid_refresh_token")
    statement = (
        select(RefreshToken, AuthSession, User)
        .join(AuthSession, AuthSession.id == RefreshToken.session_id)
        .join(User, User.id == AuthSession.user_id)
        .where(RefreshToken.token_hash == token_digest(refresh_token))
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(of=RefreshToken)
    row = (await session.execute(statement)).first()
    if row is None:
        raise invalid
    token, auth_session, user = row
    now = utcnow()
    if auth_session.revoked_at is not None or not user.is_active:
        raise invalid
    if token.used_at is not None:
        await revoke_sessions(
            session, user=user, reason="refresh_token_reuse", only_session_id=auth_session.id
        )
        audit.record(
            session,
            action="auth.refresh_reuse",
            actor=user,
            outcome=AuditOutcome.denied,
            resource_type="auth_session",
            resource_id=auth_session.id,
        )
        raise Unauthorized(
            "This sign-in was used from somewhere else, so we signed it out to protect you. "
            "Sign in again.",
            code="refresh_token_reused",
            keep_changes=True,
        )
    if token.expires_at <= now:
        raise Unauthorized("This sign-in expired. Sign in again.", code="refresh_token_expired")
    token.used_at = now
    auth_session.last_used_at = now
    refresh = await _issue_refresh(session, settings, auth_session.id)
    audit.record(
        session,
        action="auth.refresh",
        actor=user,
        resource_type="auth_session",
        resource_id=auth_session.id,
    )
    return _pair(settings, user, auth_session.id, refresh)


async def revoke_sessions(
    session: AsyncSession,
    *,
    user: User,
    reason: str,
    only_session_id: uuid.UUID | None = None,
    except_session_id: uuid.UUID | None = None,
) -> int:
    """Revoke one session, or all of a user's sessions (optionally but one). Returns how many.
    Open websockets of those sessions are closed once the revocation is committed, and the push
    devices those sessions registered are removed with it."""
    statement = select(AuthSession.id).where(
        AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None)
    )
    if only_session_id is not None:
        statement = statement.where(AuthSession.id == only_session_id)
    if except_session_id is not None:
        statement = statement.where(AuthSession.id != except_session_id)
    ids = list((await session.scalars(statement)).all())
    if ids:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id.in_(ids))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        await push_devices.remove_for_sessions(session, ids)
        hub = session.info.get("hub")
        if hub is not None:
            user_id = user.id

            async def close_sockets() -> None:
                await hub.revoke(user_id, ids)

            after_commit(session, close_sockets)
    count = len(ids)
    audit.record(
        session,
        action="auth.revoke",
        actor=user,
        resource_type="auth_session",
        resource_id=only_session_id,
        detail={"reason": reason, "sessions": count},
    )
    return count

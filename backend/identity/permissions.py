"""Who is calling: the principal behind the bearer token, and role requirements.

A token is accepted only while its session (device) is not revoked and the account is active,
so sign-out, "sign out everywhere", a password change or reuse detection take effect on the
very next request, not when the access token happens to expire.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from backend.audit import service as audit
from backend.core.db import SessionDep
from backend.core.deps import SettingsDep
from backend.core.errors import Forbidden, Unauthorized
from backend.core.security import decode_access_token
from backend.identity.models import AuthSession, User
from shared.enums import STAFF_ROLES, AuditOutcome, Role

bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /auth/login")


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in person and the device session their token belongs to."""

    user: User
    session_id: uuid.UUID

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def organization_id(self) -> uuid.UUID:
        return self.user.organization_id

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("Sign in to continue: this needs an access token.")
    claims = decode_access_token(settings, credentials.credentials)
    row = (
        await session.execute(
            select(User, AuthSession)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(User.id == claims.user_id, AuthSession.id == claims.session_id)
        )
    ).first()
    if row is None:
        raise Unauthorized("The access token is not valid. Sign in again.", code="invalid_token")
    user, auth_session = row
    if not user.is_active:
        raise Unauthorized(
            "This account is deactivated. Contact your clinic.", code="account_inactive"
        )
    if auth_session.revoked_at is not None:
        raise Unauthorized(
            "You were signed out on this device. Sign in again.", code="session_revoked"
        )
    return Principal(user=user, session_id=auth_session.id)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only these roles; a refusal is audited."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(role.replace("_", " ") for role in allowed))

    async def dependency(principal: CurrentPrincipal, session: SessionDep) -> Principal:
        if principal.role not in allowed:
            audit.record(
                session,
                action="access.role_denied",
                actor=principal,
                outcome=AuditOutcome.denied,
                detail={"allowed": sorted(allowed)},
            )
            raise Forbidden(f"Only these roles may do this: {names}.", keep_changes=True)
        return principal

    return dependency


AdminUser = Annotated[Principal, Depends(require_roles(Role.admin))]
StaffUser = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
StaffOrAdmin = Annotated[Principal, Depends(require_roles(*STAFF_ROLES, Role.admin))]
CareUser = Annotated[Principal, Depends(require_roles(*STAFF_ROLES, Role.patient, Role.family))]
"""Anyone who takes part in care: everyone but administrators, who manage accounts only."""

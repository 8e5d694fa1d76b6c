"""Password hashing and tokens.

Hashing is deliberately slow (argon2), so it runs in a small dedicated thread pool: a burst of
sign-ins then queues there instead of stalling the event loop or starving other thread work.
"""

import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import anyio
from jose import ExpiredSignatureError, JWTError, jwt
from passlib.context import CryptContext

from backend.core.config import Settings
from backend.core.errors import Unauthorized
from backend.core.types import utcnow

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "carecircle"

password_context = CryptContext(
    schemes=["argon2", "bcrypt"],
    deprecated="auto",
    # OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 50 ms a check on one core
    # here, against 450 ms for the library default, which would make a morning's sign-in burst
    # queue for seconds. Hashes made with other parameters still verify and are upgraded.
    argon2__memory_cost=19456,
    argon2__time_cost=2,
    argon2__parallelism=1,
)
_hash_limiter = anyio.CapacityLimiter(max(1, (os.cpu_count() or 2) - 1))
"""Hashing may use every core but one: the event loop keeps a core for everyone else."""


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(password_context.hash, password, limiter=_hash_limiter)


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Check a password; returns (matches, new hash if the stored one should be upgraded).

    With no stored hash (unknown user) a dummy hash is checked anyway, so the answer takes as
    long as for a real account and timing does not reveal which emails exist.
    """
    target = password_hash or await anyio.to_thread.run_sync(_dummy_hash, limiter=_hash_limiter)
    ok, new_hash = await anyio.to_thread.run_sync(
        password_context.verify_and_update, password, target, limiter=_hash_limiter
    )
    return (ok and password_hash is not None), new_hash


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return password_context.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


def create_access_token(
    settings: Settings, *, user_id: uuid.UUID, session_id: uuid.UUID, role: str
) -> str:
    now = utcnow()
    claims = {
        "iss": JWT_ISSUER,
        "sub": str(user_id),
        "sid": str(session_id),
        "role": role,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=JWT_ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[JWT_ALGORITHM],
            issuer=JWT_ISSUER,
            options={"require_exp": True, "require_iat": True, "require_sub": True},
        )
    except ExpiredSignatureError:
        raise Unauthorized("Your session expired. Sign in again.", code="token_expired") from None
    except JWTError:
        raise Unauthorized(
            "The access token is not valid. Sign in again.", code="invalid_token"
        ) from None
    if claims.get("typ") != "access":
        raise Unauthorized("The access token is not valid. Sign in again.", code="invalid_token")
    try:
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=utcnow().tzinfo),
        )
    except (KeyError, ValueError, TypeError):
        raise Unauthorized(
            "The access token is not valid. Sign in again.", code="invalid_token"
        ) from None


def new_opaque_token() -> str:
    """A random token for refresh and invitation links; only its hash is stored."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

"""Request and response models of this domain. The public ones are the API contract and live in
`shared.schemas.identity`, which the client imports too; they are re-exported here so each
domain has one obvious place to look."""

from shared.schemas.identity import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationPublic,
    LoginRequest,
    LoginResponse,
    Me,
    PasswordChange,
    RefreshRequest,
    TokenPair,
    UnlockRequest,
    UserActiveUpdate,
    UserPublic,
)

__all__ = [
    "InvitationAccept",
    "InvitationCreate",
    "InvitationCreated",
    "InvitationPublic",
    "LoginRequest",
    "LoginResponse",
    "Me",
    "PasswordChange",
    "RefreshRequest",
    "TokenPair",
    "UnlockRequest",
    "UserActiveUpdate",
    "UserPublic",
]

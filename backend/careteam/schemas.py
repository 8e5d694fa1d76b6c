"""Care-team, consent and break-glass models; the public ones are the API contract in
`shared.schemas.patients`."""

from shared.schemas.patients import (
    BreakGlassPublic,
    BreakGlassRequest,
    CareTeamMemberCreate,
    CareTeamMemberPublic,
    ProxyGrantPublic,
    ProxyGrantUpdate,
)

__all__ = [
    "BreakGlassPublic",
    "BreakGlassRequest",
    "CareTeamMemberCreate",
    "CareTeamMemberPublic",
    "ProxyGrantPublic",
    "ProxyGrantUpdate",
]

"""Sign-in, tokens, the caller's profile, invitations and account administration."""

import uuid

from fastapi import APIRouter, status

from backend.core.db import SessionDep
from backend.core.deps import SettingsDep
from backend.core.errors import ERROR_RESPONSES
from backend.identity import service
from backend.identity.models import Invitation, User
from backend.identity.permissions import AdminUser, CurrentPrincipal, StaffOrAdmin
from backend.identity.schemas import (
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
from shared.schemas.common import Page

auth_router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)
router = APIRouter(tags=["accounts"], responses=ERROR_RESPONSES)


def invitation_public(invitation: Invitation) -> InvitationPublic:
    return InvitationPublic.model_validate(invitation, from_attributes=True)


def invitation_created(invitation: Invitation, token: str) -> InvitationCreated:
    return InvitationCreated(**invitation_public(invitation).model_dump(), token=token)


@auth_router.post(
    "/login",
    response_model=LoginResponse,
    responses={423: {"description": "Locked after repeated failures; see Retry-After"}},
)
async def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> LoginResponse:
    """Sign in with email and password. Repeated failures pause sign-in for that email, with
    a wait that doubles each time."""
    return await service.login(session, settings=settings, email=body.email, password=body.password)


@auth_router.post("/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once; presenting a spent
    one signs that device out."""
    return await service.refresh(session, settings=settings, refresh_token=body.refresh_token)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, session: SessionDep) -> None:
    """Sign out this device."""
    await service.logout(session, principal=principal)


@auth_router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT)
async def logout_all(principal: CurrentPrincipal, session: SessionDep) -> None:
    """Sign out every device, this one included."""
    await service.logout_all(session, principal=principal)


@auth_router.post("/unlock", status_code=status.HTTP_204_NO_CONTENT)
async def unlock(
    body: UnlockRequest, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> None:
    """Confirm the password after the app locked itself for being idle."""
    await service.unlock(session, settings=settings, principal=principal, password=body.password)


@auth_router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> None:
    """Change the password; every other device is signed out."""
    await service.change_password(
        session,
        settings=settings,
        principal=principal,
        current_password=body.current_password,
        new_password=body.new_password,
    )


@auth_router.post("/invitations/accept", response_model=LoginResponse)
async def accept_invitation(
    body: InvitationAccept, session: SessionDep, settings: SettingsDep
) -> LoginResponse:
    """Create the account an invitation is for (or, for a family member who already has one,
    add the new patient's grant) and sign in."""
    return await service.accept_invitation(session, settings=settings, data=body)


@router.get("/me", response_model=Me)
async def read_me(principal: CurrentPrincipal, session: SessionDep) -> Me:
    """The signed-in person, their organization and, for a family member, whose care they may
    view."""
    return await service.me(session, user=principal.user)


@router.post("/invitations", response_model=InvitationCreated, status_code=status.HTTP_201_CREATED)
async def invite_staff(
    body: InvitationCreate, principal: StaffOrAdmin, session: SessionDep, settings: SettingsDep
) -> InvitationCreated:
    """Invite a colleague. Patients and family are invited from the patient's record."""
    invitation, token = await service.invite_staff(
        session, settings=settings, actor=principal, data=body
    )
    return invitation_created(invitation, token)


@router.get("/invitations", response_model=Page[InvitationPublic])
async def list_invitations(
    principal: CurrentPrincipal, session: SessionDep
) -> Page[InvitationPublic]:
    """Invitations you may see: staff see their organization's, a patient those they sent."""
    invitations = await service.list_invitations(session, actor=principal)
    return Page(data=[invitation_public(i) for i in invitations], count=len(invitations))


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(
    invitation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> None:
    """Withdraw an invitation that has not been accepted."""
    await service.revoke_invitation(session, actor=principal, invitation_id=invitation_id)


def user_public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.get("/staff", response_model=Page[UserPublic])
async def list_staff(principal: StaffOrAdmin, session: SessionDep) -> Page[UserPublic]:
    """Active staff of the organization, for building care teams."""
    users = await service.list_users(session, actor=principal, staff_only=True)
    return Page(data=[user_public(u) for u in users], count=len(users))


@router.get("/users", response_model=Page[UserPublic])
async def list_users(principal: AdminUser, session: SessionDep) -> Page[UserPublic]:
    """Every account of the organization (administrators)."""
    users = await service.list_users(session, actor=principal, staff_only=False)
    return Page(data=[user_public(u) for u in users], count=len(users))


@router.patch("/users/{user_id}", response_model=UserPublic)
async def set_user_active(
    user_id: uuid.UUID, body: UserActiveUpdate, principal: AdminUser, session: SessionDep
) -> UserPublic:
    """Deactivate (signing out every device) or reactivate an account (administrators)."""
    user = await service.set_active(
        session, actor=principal, user_id=user_id, is_active=body.is_active
    )
    return user_public(user)

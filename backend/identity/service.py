"""Sign-in, lockout, passwords, invitations and the caller's profile."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.careteam.models import ProxyGrant
from backend.careteam.service import accessible_patient_ids
from backend.core.config import Settings
from backend.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Locked,
    NotFound,
    Unauthorized,
    Unprocessable,
)
from backend.core.security import hash_password, new_opaque_token, token_digest, verify_password
from backend.core.types import utcnow
from backend.identity import tokens
from backend.identity.models import Invitation, LoginThrottle, Organization, User
from backend.identity.permissions import Principal
from backend.messaging.hooks import patient_access_changed
from backend.patients.models import Patient
from shared.enums import BREAK_GLASS_ROLES, STAFF_ROLES, AuditOutcome, Role
from shared.schemas.identity import (
    InvitationAccept,
    InvitationCreate,
    LoginResponse,
    Me,
    OrganizationPublic,
    ProxyPatient,
    TokenPair,
)

_COMMON_PASSWORDS = frozenset(
    {"password123", "password1234", "1234567890", "qwertyuiop", "iloveyou12", "letmein123"}
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_password_policy(password: str, *, email: str) -> None:
    """Length is checked by the schema; here, what a schema cannot see."""
    local_part = email.split("@", 1)[0].lower()
    if password.lower() in _COMMON_PASSWORDS or len(set(password)) < 4:
        raise Unprocessable(
            "This password is too easy to guess. Use a longer phrase of several words.",
            code="weak_password",
        )
    if len(local_part) >= 4 and local_part in password.lower():
        raise Unprocessable(
            "The password must not contain your email address.", code="weak_password"
        )


# --- lockout -------------------------------------------------------------------------------


async def _throttle(session: AsyncSession, digest: str) -> LoginThrottle:
    """The throttle row for this email, created if missing without racing a parallel insert."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(LoginThrottle).values(email_digest=digest).on_conflict_do_nothing()
    )
    statement = select(LoginThrottle).where(LoginThrottle.email_digest == digest)
    if dialect == "postgresql":
        statement = statement.with_for_update()
    return (await session.scalars(statement.execution_options(populate_existing=True))).one()


def _raise_if_locked(throttle: LoginThrottle, now: datetime) -> None:
    if throttle.locked_until is not None and throttle.locked_until > now:
        seconds = int((throttle.locked_until - now).total_seconds()) + 1
        raise Locked(
            f"Too many unsuccessful sign-ins. Try again in {_human_wait(seconds)}, "
            "or reset your password with your clinic.",
            headers={"Retry-After": str(seconds)},
            keep_changes=True,
        )


def _human_wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


def _lock_if_exhausted(throttle: LoginThrottle, settings: Settings, now: datetime) -> int | None:
    """Lock with back-off (doubling per lock) once the attempts reach the threshold. Returns
    the lock length in seconds if this call locked."""
    if throttle.failure_count < settings.lockout_threshold:
        return None
    seconds = min(
        settings.lockout_base_seconds * 2**throttle.lock_level, settings.lockout_max_seconds
    )
    throttle.lock_level += 1
    throttle.failure_count = 0
    throttle.locked_until = now + timedelta(seconds=seconds)
    return seconds


async def _check_password(
    session: AsyncSession,
    *,
    settings: Settings,
    email: str,
    password: str,
    user: User | None,
    action: str,
) -> None:
    """Verify a password under the lockout rules; failures are kept (and audited) even though
    the request is refused.

    The attempt is counted *before* the slow hash check and that count is committed at once,
    so the throttle row is not held locked during hashing (other sign-ins, and on SQLite every
    other write, would queue behind it), while parallel guesses still cannot exceed the
    threshold: the attempt that would pass it is refused without checking the password.
    """
    digest = token_digest(email)
    denied = {
        "actor": user,
        "organization_id": user.organization_id if user else None,
    }
    throttle = await _throttle(session, digest)
    now = utcnow()
    locked = throttle.locked_until is not None and throttle.locked_until > now
    if not locked and throttle.failure_count >= settings.lockout_threshold:
        # Attempts still in flight used up the allowance: lock now, without checking.
        locked = _lock_if_exhausted(throttle, settings, now) is not None
    if locked:
        audit.record(
            session,
            action=action,
            outcome=AuditOutcome.denied,
            detail={"reason": "locked", "email_digest": digest[:16]},
            **denied,
        )
        _raise_if_locked(throttle, now)
    throttle.failure_count += 1
    throttle.last_failure_at = now
    await session.commit()

    usable = user if user is not None and user.is_active else None
    ok, new_hash = await verify_password(password, usable.password_hash if usable else None)

    throttle = await _throttle(session, digest)
    if ok and usable is not None:
        throttle.failure_count = 0
        throttle.lock_level = 0
        throttle.locked_until = None
        if new_hash:
            usable.password_hash = new_hash
        # Kept like the count above: a later refusal in this request (a new password the
        # policy rejects) must not leave a correct password counted as a failed attempt.
        await session.commit()
        return
    locked_for = _lock_if_exhausted(throttle, settings, utcnow())
    audit.record(
        session,
        action=action,
        outcome=AuditOutcome.failure,
        detail={
            "reason": "bad_password" if user else "unknown_email",
            "email_digest": digest[:16],
            "locked_seconds": locked_for or 0,
        },
        **denied,
    )
    message = "The email or password is incorrect."
    if locked_for:
        message += f" Too many attempts: sign-in is paused for {_human_wait(locked_for)}."
    raise Unauthorized(message, code="invalid_credentials", keep_changes=True)


# --- sign-in -------------------------------------------------------------------------------


async def login(
    session: AsyncSession, *, settings: Settings, email: str, password: str
) -> LoginResponse:
    email = normalize_email(email)
    user = (await session.scalars(select(User).where(User.email == email))).first()
    await _check_password(
        session, settings=settings, email=email, password=password, user=user, action="auth.login"
    )
    assert user is not None
    user.last_login_at = utcnow()
    pair = await tokens.start_session(session, settings=settings, user=user)
    audit.record(session, action="auth.login", actor=user)
    return LoginResponse(**pair.model_dump(), user=await me(session, user=user))


async def unlock(
    session: AsyncSession, *, settings: Settings, principal: Principal, password: str
) -> None:
    """Re-entry of the password after the client locked itself for being idle."""
    await _check_password(
        session,
        settings=settings,
        email=principal.user.email,
        password=password,
        user=principal.user,
        action="auth.unlock",
    )
    audit.record(session, action="auth.unlock", actor=principal)


async def logout(session: AsyncSession, *, principal: Principal) -> None:
    await tokens.revoke_sessions(
        session, user=principal.user, reason="logout", only_session_id=principal.session_id
    )


async def logout_all(session: AsyncSession, *, principal: Principal) -> int:
    return await tokens.revoke_sessions(session, user=principal.user, reason="logout_all")


async def change_password(
    session: AsyncSession,
    *,
    settings: Settings,
    principal: Principal,
    current_password: str,
    new_password: str,
) -> int:
    """Returns how many other sessions were signed out."""
    user = principal.user
    await _check_password(
        session,
        settings=settings,
        email=user.email,
        password=current_password,
        user=user,
        action="auth.password_change",
    )
    if new_password == current_password:
        raise Unprocessable(
            "The new password must differ from the current one.", code="weak_password"
        )
    check_password_policy(new_password, email=user.email)
    user.password_hash = await hash_password(new_password)
    user.password_changed_at = utcnow()
    revoked = await tokens.revoke_sessions(
        session, user=user, reason="password_change", except_session_id=principal.session_id
    )
    audit.record(session, action="auth.password_change", actor=user, detail={"revoked": revoked})
    return revoked


async def refresh(session: AsyncSession, *, settings: Settings, refresh_token: str) -> TokenPair:
    return await tokens.rotate(session, settings=settings, refresh_token=refresh_token)


# --- profile -------------------------------------------------------------------------------


async def me(session: AsyncSession, *, user: User) -> Me:
    organization = await session.get(Organization, user.organization_id)
    assert organization is not None
    patient_id = None
    proxies: list[ProxyPatient] = []
    if user.role == Role.patient:
        patient_id = await session.scalar(select(Patient.id).where(Patient.user_id == user.id))
    elif user.role == Role.family:
        now = utcnow()
        rows = await session.execute(
            select(ProxyGrant, Patient)
            .join(Patient, Patient.id == ProxyGrant.patient_id)
            .where(ProxyGrant.grantee_id == user.id, ProxyGrant.revoked_at.is_(None))
            .order_by(Patient.family_name, Patient.given_name)
        )
        for grant, patient in rows:
            if grant.expires_at is not None and grant.expires_at <= now:
                continue
            proxies.append(
                ProxyPatient(
                    patient_id=patient.id,
                    patient_name=patient.full_name,
                    relationship=grant.relationship,
                    scopes=grant.scopes,
                    expires_at=grant.expires_at,
                )
            )
    return Me(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=Role(user.role),
        organization=OrganizationPublic(id=organization.id, name=organization.name),
        patient_id=patient_id,
        proxies=proxies,
    )


# --- invitations ---------------------------------------------------------------------------


async def _ensure_email_free(session: AsyncSession, email: str, *, allow_family: bool) -> None:
    existing = (await session.scalars(select(User).where(User.email == email))).first()
    if existing is not None and not (allow_family and existing.role == Role.family):
        raise Conflict(
            "An account with this email already exists. Ask the person to sign in instead.",
            code="email_taken",
        )


async def _store_invitation(
    session: AsyncSession, *, settings: Settings, actor: Principal, data: InvitationCreate
) -> tuple[Invitation, str]:
    token = new_opaque_token()
    now = utcnow()
    await session.execute(
        update(Invitation)
        .where(
            Invitation.email == data.email,
            Invitation.patient_id == data.patient_id
            if data.patient_id
            else Invitation.patient_id.is_(None),
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    invitation = Invitation(
        organization_id=actor.organization_id,
        email=data.email,
        role=data.role,
        full_name=data.full_name,
        patient_id=data.patient_id,
        relationship=data.relationship,
        scopes=sorted(set(data.scopes)),
        grant_expires_at=data.grant_expires_at,
        invited_by_id=actor.id,
        token_hash=token_digest(token),
        expires_at=now + timedelta(days=settings.invitation_days),
    )
    session.add(invitation)
    await session.flush()
    audit.record(
        session,
        action="invitation.create",
        actor=actor,
        patient_id=data.patient_id,
        resource_type="invitation",
        resource_id=invitation.id,
        detail={"role": str(data.role), "scopes": invitation.scopes},
    )
    return invitation, token


async def invite_staff(
    session: AsyncSession, *, settings: Settings, actor: Principal, data: InvitationCreate
) -> tuple[Invitation, str]:
    data = data.model_copy(update={"email": normalize_email(data.email)})
    if data.role not in STAFF_ROLES | {Role.admin}:
        raise Unprocessable(
            "Invite patients and family members from the patient's record "
            "(POST /patients/{patient_id}/invitations).",
            code="wrong_invitation_route",
        )
    if data.role == Role.admin and actor.role != Role.admin:
        raise Forbidden("Only an administrator may invite another administrator.")
    if data.role in BREAK_GLASS_ROLES and actor.role not in BREAK_GLASS_ROLES | {Role.admin}:
        # Otherwise a navigator could mint a clinician account for themself and use its
        # emergency access to open any record.
        raise Forbidden(
            "Only an administrator, a care manager or a clinician may invite someone who can "
            "use emergency access."
        )
    if data.patient_id or data.scopes:
        raise Unprocessable(
            "A staff invitation takes no patient or scopes.", code="invalid_invitation"
        )
    await _ensure_email_free(session, data.email, allow_family=False)
    return await _store_invitation(session, settings=settings, actor=actor, data=data)


async def invite_for_patient(
    session: AsyncSession,
    *,
    settings: Settings,
    actor: Principal,
    patient: Patient,
    data: InvitationCreate,
) -> tuple[Invitation, str]:
    """Invite the patient themself (staff only) or a family member (the patient, or staff on
    their behalf). The access dependency has already admitted `actor` to this patient."""
    data = data.model_copy(update={"email": normalize_email(data.email), "patient_id": patient.id})
    if data.role == Role.patient:
        if not actor.is_staff:
            raise Forbidden("Only the care team can invite a patient to their own record.")
        if patient.user_id is not None:
            raise Conflict("This patient already has an account.", code="patient_has_account")
        if data.scopes:
            raise Unprocessable("A patient invitation takes no scopes.", code="invalid_invitation")
        await _ensure_email_free(session, data.email, allow_family=False)
    elif data.role == Role.family:
        if not data.scopes:
            raise Unprocessable(
                "Choose at least one thing to share (scopes), e.g. messages or care_plan.",
                code="invalid_invitation",
                fields=[{"field": "body.scopes", "message": "Choose at least one scope."}],
            )
        if not data.relationship:
            raise Unprocessable(
                "Say how the family member is related, e.g. daughter.",
                code="invalid_invitation",
                fields=[{"field": "body.relationship", "message": "This field is required."}],
            )
        if data.grant_expires_at is not None and data.grant_expires_at <= utcnow():
            raise Unprocessable(
                "The access end date must be in the future.", code="invalid_invitation"
            )
        await _ensure_email_free(session, data.email, allow_family=True)
    else:
        raise Unprocessable(
            "From a patient's record you can invite the patient or a family member; "
            "invite staff with POST /invitations.",
            code="wrong_invitation_route",
        )
    return await _store_invitation(session, settings=settings, actor=actor, data=data)


async def _visible_invitations(session: AsyncSession, actor: Principal) -> Select:
    """Invitations `actor` may see: staff those for colleagues and for patients they can open
    now; an administrator only staff invitations (no patient data); a patient or family member
    only the ones they sent."""
    statement = select(Invitation).where(Invitation.organization_id == actor.organization_id)
    if actor.is_staff:
        patient_ids = list(await accessible_patient_ids(session, principal=actor))
        return statement.where(
            or_(Invitation.patient_id.is_(None), Invitation.patient_id.in_(patient_ids))
        )
    if actor.role == Role.admin:
        return statement.where(Invitation.patient_id.is_(None))
    return statement.where(Invitation.invited_by_id == actor.id)


async def list_invitations(session: AsyncSession, *, actor: Principal) -> list[Invitation]:
    statement = await _visible_invitations(session, actor)
    return list((await session.scalars(statement.order_by(Invitation.created_at.desc()))).all())


async def revoke_invitation(
    session: AsyncSession, *, actor: Principal, invitation_id: uuid.UUID
) -> None:
    statement = await _visible_invitations(session, actor)
    invitation = (await session.scalars(statement.where(Invitation.id == invitation_id))).first()
    if invitation is None:
        raise NotFound("No such invitation.")
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted.", code="invitation_used")
    invitation.revoked_at = invitation.revoked_at or utcnow()
    audit.record(
        session,
        action="invitation.revoke",
        actor=actor,
        patient_id=invitation.patient_id,
        resource_type="invitation",
        resource_id=invitation.id,
    )


async def accept_invitation(
    session: AsyncSession, *, settings: Settings, data: InvitationAccept
) -> LoginResponse:
    invitation = (
        await session.scalars(
            select(Invitation).where(Invitation.token_hash == token_digest(data.token))
        )
    ).first()
    if invitation is None:
        raise NotFound(
            "This invitation link is not valid. Ask for a new one.", code="invitation_invalid"
        )
    now = utcnow()
    if invitation.revoked_at is not None:
        raise Gone("This invitation was withdrawn. Ask for a new one.", code="invitation_revoked")
    if invitation.accepted_at is not None:
        raise Gone("This invitation was already used. Sign in instead.", code="invitation_used")
    if invitation.expires_at <= now:
        raise Gone("This invitation expired. Ask for a new one.", code="invitation_expired")

    user = (await session.scalars(select(User).where(User.email == invitation.email))).first()
    if user is not None:
        if user.role != Role.family or invitation.role != Role.family:
            raise Conflict(
                "An account with this email already exists. Sign in instead.", code="email_taken"
            )
        if user.organization_id != invitation.organization_id:
            raise Conflict(
                "This email belongs to an account at another clinic.", code="email_taken"
            )
        await _check_password(
            session,
            settings=settings,
            email=user.email,
            password=data.password,
            user=user,
            action="invitation.accept",
        )
    else:
        check_password_policy(data.password, email=invitation.email)
        user = User(
            organization_id=invitation.organization_id,
            email=invitation.email,
            full_name=data.full_name or invitation.full_name,
            role=invitation.role,
            password_hash=await hash_password(data.password),
        )
        session.add(user)
        await session.flush()

    if invitation.role == Role.patient:
        patient = await session.get(Patient, invitation.patient_id)
        if patient is None or patient.user_id is not None:
            raise Conflict(
                "This patient record already has an account.", code="patient_has_account"
            )
        patient.user_id = user.id
    elif invitation.role == Role.family:
        assert invitation.patient_id is not None
        session.add(
            ProxyGrant(
                patient_id=invitation.patient_id,
                grantee_id=user.id,
                relationship=invitation.relationship or "family",
                scopes=invitation.scopes,
                granted_by_id=invitation.invited_by_id,
                expires_at=invitation.grant_expires_at,
            )
        )
        audit.record(
            session,
            action="consent.grant",
            actor=user,
            patient_id=invitation.patient_id,
            resource_type="invitation",
            resource_id=invitation.id,
            detail={"scopes": invitation.scopes},
        )
    invitation.accepted_at = now
    invitation.accepted_user_id = user.id
    if invitation.patient_id is not None and invitation.role in (Role.patient, Role.family):
        await patient_access_changed(session, invitation.patient_id, actor_id=user.id)
    audit.record(
        session,
        action="invitation.accept",
        actor=user,
        patient_id=invitation.patient_id,
        resource_type="invitation",
        resource_id=invitation.id,
    )
    user.last_login_at = now
    pair = await tokens.start_session(session, settings=settings, user=user)
    audit.record(session, action="auth.login", actor=user, detail={"via": "invitation"})
    return LoginResponse(**pair.model_dump(), user=await me(session, user=user))


# --- administration ------------------------------------------------------------------------


async def list_users(session: AsyncSession, *, actor: Principal, staff_only: bool) -> list[User]:
    statement = select(User).where(User.organization_id == actor.organization_id)
    if staff_only:
        statement = statement.where(
            User.role.in_([str(r) for r in STAFF_ROLES]), User.is_active.is_(True)
        )
    return list((await session.scalars(statement.order_by(User.full_name))).all())


async def set_active(
    session: AsyncSession, *, actor: Principal, user_id: uuid.UUID, is_active: bool
) -> User:
    user = await session.get(User, user_id)
    if user is None or user.organization_id != actor.organization_id:
        raise NotFound("No such user in your organization.")
    if user.id == actor.id and not is_active:
        raise BadRequest("You cannot deactivate your own account.", code="self_deactivation")
    user.is_active = is_active
    if not is_active:
        await tokens.revoke_sessions(session, user=user, reason="deactivated")
    audit.record(
        session,
        action="user.activate" if is_active else "user.deactivate",
        actor=actor,
        resource_type="user",
        resource_id=user.id,
    )
    return user

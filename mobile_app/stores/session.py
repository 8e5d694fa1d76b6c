"""Who is signed in on this device, whether the screen is locked, and whose care is shown.

The session store is the one place that decides the app's top-level state: signed out, active,
or locked after five idle minutes (the device may be a shared tablet in a clinic or a phone left
on a kitchen table; PHI must not stay on screen). Time comes from an injectable clock so tests
move it forward instead of sleeping.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from mobile_app.api.client import ApiClient, ApiError, Clock
from mobile_app.stores.observable import Observable
from shared.enums import STAFF_ROLES, GrantScope, Role
from shared.schemas.identity import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, Me, ProxyPatient

log = logging.getLogger("carecircle.client.session")

IDLE_LOCK_SECONDS = 5 * 60
"""Lock the screen after this much time without interaction."""


class SessionStatus(StrEnum):
    signed_out = "signed_out"
    active = "active"
    locked = "locked"


@dataclass(frozen=True, slots=True)
class ViewedPatient:
    """The patient whose care the screens show: the patient themself, or a family member's
    chosen proxy patient with the scopes they were granted."""

    patient_id: uuid.UUID
    name: str
    relationship: str | None
    scopes: frozenset[GrantScope] | None
    """None means everything (the patient's own record)."""


class SessionStore(Observable):
    """Sign-in, tokens (through the API client), idle lock, sign-out and the family's choice."""

    def __init__(
        self,
        api: ApiClient,
        *,
        clock: Clock = time.monotonic,
        idle_lock_seconds: float = IDLE_LOCK_SECONDS,
    ) -> None:
        super().__init__()
        self._api = api
        self._clock = clock
        self.idle_lock_seconds = idle_lock_seconds
        api.on_session_ended = self._on_session_ended

        self.status = SessionStatus.signed_out
        self.me: Me | None = None
        self.busy = False
        self.error: str | None = None
        """What went wrong with the last action, worded for the person."""
        self.notice: str | None = None
        """A calm confirmation or explanation (signed out, password changed)."""
        self.last_activity_at = clock()
        self._selected_patient_id: uuid.UUID | None = None

    # -- derived state ----------------------------------------------------------------------

    @property
    def role(self) -> Role | None:
        return self.me.role if self.me else None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def proxies(self) -> list[ProxyPatient]:
        return list(self.me.proxies) if self.me and self.me.role is Role.family else []

    @property
    def needs_patient_choice(self) -> bool:
        """A family member sees no patient screen until they pick whose care to view; with no
        active grant at all (expired or revoked) there is nothing to pick and nothing to see."""
        return self.role is Role.family and self.viewed_patient is None

    @property
    def viewed_patient(self) -> ViewedPatient | None:
        me = self.me
        if me is None:
            return None
        if me.role is Role.patient and me.patient_id is not None:
            return ViewedPatient(me.patient_id, me.full_name, None, None)
        if me.role is Role.family:
            for proxy in me.proxies:
                if proxy.patient_id == self._selected_patient_id:
                    return ViewedPatient(
                        proxy.patient_id,
                        proxy.patient_name,
                        proxy.relationship,
                        frozenset(proxy.scopes),
                    )
        return None

    def idle_seconds(self) -> float:
        return self._clock() - self.last_activity_at

    # -- sign-in and sign-out ---------------------------------------------------------------

    async def sign_in(self, email: str, password: str) -> bool:
        email = email.strip()
        if not email or not password:
            return self._fail("Enter your email address and password.")
        self._begin()
        try:
            me = await self._api.login(email, password)
        except ApiError as exc:
            return self._fail(exc.message)
        self._start_session(me)
        return True

    async def sign_out(self) -> None:
        """End this device's session. Locally it always succeeds, even offline: the person
        asked to leave, and the screen must stop showing PHI now."""
        self._begin()
        try:
            await self._api.logout()
        except ApiError as exc:
            log.info("server sign-out failed (%s); signed out locally", exc.code)
        self._end_local_session(notice="You have signed out.")

    async def sign_out_everywhere(self) -> bool:
        """End every session of this account. Unlike `sign_out` it reports a failure, because
        the person needs to know their other devices may still be signed in."""
        self._begin()
        try:
            await self._api.logout_all()
        except ApiError as exc:
            return self._fail_call(exc, prefix="We couldn't sign out your other devices. ")
        self._end_local_session(notice="You have signed out on all your devices.")
        return True

    # -- idle lock --------------------------------------------------------------------------

    def record_activity(self) -> None:
        """Called by views on any interaction; postpones the idle lock."""
        if self.status is SessionStatus.active:
            self.last_activity_at = self._clock()

    def lock_if_idle(self) -> bool:
        if self.status is SessionStatus.active and self.idle_seconds() >= self.idle_lock_seconds:
            self.lock()
            return True
        return False

    def lock(self) -> None:
        if self.status is SessionStatus.active:
            self.status = SessionStatus.locked
            self.error = None
            self.notice = None
            self._notify()

    async def tick(self) -> None:
        """Run periodically by the app: lock when idle, keep the tokens fresh while in use."""
        if self.lock_if_idle() or self.status is not SessionStatus.active:
            return
        if self._api.refresh_due():
            try:
                await self._api.refresh()
            except ApiError as exc:
                log.info("scheduled refresh failed (%s)", exc.code)

    async def unlock(self, password: str) -> bool:
        if self.status is not SessionStatus.locked:
            return False
        if not password:
            return self._fail("Enter your password to unlock.")
        self._begin()
        try:
            await self._api.unlock(password)
        except ApiError as exc:
            return self._fail_call(exc)
        self.status = SessionStatus.active
        self.last_activity_at = self._clock()
        self._finish()
        return True

    # -- password ---------------------------------------------------------------------------

    async def change_password(self, current: str, new: str, confirm: str) -> bool:
        problem = _password_problem(current, new, confirm)
        if problem:
            return self._fail(problem)
        self._begin()
        try:
            await self._api.change_password(current, new)
        except ApiError as exc:
            return self._fail_call(exc)
        self.notice = "Your password was changed. Your other devices were signed out."
        self._finish()
        return True

    # -- family: whose care -----------------------------------------------------------------

    def select_patient(self, patient_id: uuid.UUID) -> None:
        if not any(p.patient_id == patient_id for p in self.proxies):
            raise ValueError("not one of this family member's patients")
        self._selected_patient_id = patient_id
        self.record_activity()
        self._notify()

    def choose_another_patient(self) -> None:
        """Back to the picker; only meaningful when there is more than one patient."""
        if len(self.proxies) > 1:
            self._selected_patient_id = None
            self._notify()

    def clear_messages(self) -> None:
        if self.error or self.notice:
            self.error = None
            self.notice = None
            self._notify()

    # -- internals --------------------------------------------------------------------------

    def _start_session(self, me: Me) -> None:
        self.me = me
        self.status = SessionStatus.active
        self.last_activity_at = self._clock()
        proxies = self.proxies
        self._selected_patient_id = proxies[0].patient_id if len(proxies) == 1 else None
        self.notice = None
        self._finish()

    def _end_local_session(self, *, notice: str | None) -> None:
        self._api.forget_session()
        self.status = SessionStatus.signed_out
        self.me = None
        self._selected_patient_id = None
        self.busy = False
        self.error = None
        self.notice = notice
        self._notify()

    def _on_session_ended(self) -> None:
        """The server rejected the refresh token (expired, revoked or signed out elsewhere)."""
        if self.status is not SessionStatus.signed_out:
            self._end_local_session(notice="Your session has ended. Please sign in again.")

    def _begin(self) -> None:
        self.busy = True
        self.error = None
        self.notice = None
        self._notify()

    def _finish(self) -> None:
        self.busy = False
        self.error = None
        self._notify()

    def _fail_call(self, exc: ApiError, *, prefix: str = "") -> bool:
        if exc.code == "session_ended":
            # `_on_session_ended` already moved to the sign-in screen with its own notice.
            self.busy = False
            self._notify()
            return False
        return self._fail(prefix + exc.message)

    def _fail(self, message: str) -> bool:
        self.busy = False
        self.error = message
        self._notify()
        return False


def _password_problem(current: str, new: str, confirm: str) -> str | None:
    """Checks the server would make too, phrased for the form, before anything is sent."""
    if not current:
        return "Enter your current password."
    if len(new) < PASSWORD_MIN_LENGTH:
        return f"Choose a new password of at least {PASSWORD_MIN_LENGTH} characters."
    if len(new) > PASSWORD_MAX_LENGTH:
        return f"Choose a new password of at most {PASSWORD_MAX_LENGTH} characters."
    if new != confirm:
        return "The new passwords don't match."
    if new == current:
        return "Choose a new password that differs from the current one."
    return None

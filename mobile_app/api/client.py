"""The one HTTP client of the app: nothing else in mobile_app talks to the backend.

It owns the session's tokens so no other code has to handle them. It guarantees that:

- every authenticated call carries a fresh access token: it is refreshed shortly before it
  expires, and once more if the server still answers 401 (a clock skew or a restart);
- concurrent callers that find the token stale share one refresh, because the refresh token
  rotates and a second refresh with the same token would make the server revoke the session;
- every failure becomes an `ApiError` whose `message` can be shown to the person as is;
- tokens never reach a log line, a repr or an exception message.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shared.enums import AuditOutcome
from shared.schemas.audit import AuditEntryPublic, AuditVerifyResult
from shared.schemas.common import CursorPage, ErrorBody, FieldError, Page
from shared.schemas.identity import (
    InvitationAccept,
    LoginRequest,
    LoginResponse,
    Me,
    PasswordChange,
    RefreshRequest,
    TokenPair,
    UserPublic,
)
from shared.schemas.notifications import NotificationPublic
from shared.schemas.patients import (
    CareTeamMemberPublic,
    PatientDetail,
    PatientSummary,
    ProxyGrantPublic,
)

log = logging.getLogger("carecircle.client.api")

Clock = Callable[[], float]
"""Seconds on a monotonic scale; injectable so tests move time without sleeping."""

ModelT = TypeVar("ModelT", bound=BaseModel)

REFRESH_MARGIN_SECONDS = 60.0
"""Refresh this long before the access token expires, so a request in flight never carries a
token that lapses on the way."""

REQUEST_TIMEOUT_SECONDS = 15.0

SESSION_ENDED_MESSAGE = "Your session has ended. Please sign in again."
NETWORK_MESSAGE = "We can't reach CareCircle right now. Check your connection and try again."


class ApiError(Exception):
    """A failed call, carrying the server's error body (or a local stand-in for it)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, code={self.code!r}, message={self.message!r})"


@dataclass(slots=True)
class SessionTokens:
    """The tokens of one signed-in session; `repr=False` keeps them out of any printout."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: float
    refresh_expires_at: float


class ApiClient:
    """Typed calls to the CareCircle API for one signed-in person on one device.

    `on_session_ended` is called when the server no longer honours the session (the refresh
    token was rejected), so the session store can return to the sign-in screen.
    """

    def __init__(
        self,
        api_url: str,
        *,
        clock: Clock = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=f"{self._api_url}/api/v1",
            timeout=REQUEST_TIMEOUT_SECONDS,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._tokens: SessionTokens | None = None
        self._refresh_lock = asyncio.Lock()
        self.on_session_ended: Callable[[], None] | None = None

    # -- session state ----------------------------------------------------------------------

    @property
    def has_session(self) -> bool:
        return self._tokens is not None

    @property
    def tokens(self) -> SessionTokens | None:
        """The current tokens, for a later websocket client; never log them."""
        return self._tokens

    def refresh_due(self) -> bool:
        """Whether the access token is inside the refresh margin (or already expired)."""
        tokens = self._tokens
        return tokens is not None and self._clock() >= tokens.access_expires_at - (
            self._refresh_margin
        )

    def forget_session(self) -> None:
        """Drop the tokens locally without telling the server (it has already ended them)."""
        self._tokens = None

    async def aclose(self) -> None:
        self._tokens = None
        await self._http.aclose()

    # -- identity ---------------------------------------------------------------------------

    async def health(self) -> bool:
        """Whether the API answers at all; used to tell "offline" from "wrong password"."""
        try:
            response = await self._http.get(f"{self._api_url}/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def login(self, email: str, password: str) -> Me:
        try:
            body = LoginRequest.model_validate({"email": email, "password": password})
        except ValidationError:
            raise ApiError(
                422, "validation_error", "Enter a valid email address and your password."
            ) from None
        response = await self._call("POST", "/auth/login", json=body, auth=False)
        login = self._parse(LoginResponse, response)
        self._store_tokens(login)
        return login.user

    async def accept_invitation(
        self, token: str, password: str, full_name: str | None = None
    ) -> Me:
        body = InvitationAccept(token=token, password=password, full_name=full_name)
        response = await self._call("POST", "/auth/invitations/accept", json=body, auth=False)
        login = self._parse(LoginResponse, response)
        self._store_tokens(login)
        return login.user

    async def refresh(self) -> None:
        """Rotate the tokens now (single-flight with any other caller)."""
        await self._refresh(stale=self._tokens)

    async def logout(self) -> None:
        """End this device's session; the local tokens are dropped even if the call fails."""
        try:
            await self._call("POST", "/auth/logout")
        finally:
            self._tokens = None

    async def logout_all(self) -> None:
        """End the session on every device; local tokens go only once the server agreed."""
        await self._call("POST", "/auth/logout-all")
        self._tokens = None

    async def unlock(self, password: str) -> None:
        await self._call("POST", "/auth/unlock", json={"password": password})

    async def change_password(self, current_password: str, new_password: str) -> None:
        body = PasswordChange(current_password=current_password, new_password=new_password)
        await self._call("POST", "/auth/password", json=body)

    async def me(self) -> Me:
        return self._parse(Me, await self._call("GET", "/me"))

    # -- patients ---------------------------------------------------------------------------

    async def list_patients(self) -> Page[PatientSummary]:
        return self._parse(Page[PatientSummary], await self._call("GET", "/patients"))

    async def get_patient(self, patient_id: str) -> PatientDetail:
        return self._parse(PatientDetail, await self._call("GET", f"/patients/{patient_id}"))

    async def list_care_team(self, patient_id: str) -> Page[CareTeamMemberPublic]:
        response = await self._call("GET", f"/patients/{patient_id}/care-team")
        return self._parse(Page[CareTeamMemberPublic], response)

    async def list_proxy_grants(self, patient_id: str) -> Page[ProxyGrantPublic]:
        response = await self._call("GET", f"/patients/{patient_id}/proxy-grants")
        return self._parse(Page[ProxyGrantPublic], response)

    async def revoke_proxy_grant(self, patient_id: str, grant_id: str) -> None:
        await self._call("DELETE", f"/patients/{patient_id}/proxy-grants/{grant_id}")

    # -- notifications ----------------------------------------------------------------------

    async def list_notifications(self) -> Page[NotificationPublic]:
        response = await self._call("GET", "/notifications")
        return self._parse(Page[NotificationPublic], response)

    async def mark_notification_read(self, notification_id: str) -> None:
        await self._call("POST", f"/notifications/{notification_id}/read")

    # -- administration -----------------------------------------------------------------------

    async def list_users(self) -> Page[UserPublic]:
        """Everyone in the administrator's organization (admin only)."""
        return self._parse(Page[UserPublic], await self._call("GET", "/users"))

    async def query_audit(
        self,
        *,
        patient_id: str | None = None,
        actor_id: str | None = None,
        action: str | None = None,
        outcome: AuditOutcome | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> CursorPage[AuditEntryPublic]:
        """One page of the audit trail, newest first (admin only); pass the page's
        `next_cursor` back as `cursor` to read older entries."""
        for moment in (since, until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("audit time bounds must carry a time zone")
        filters: dict[str, str | None] = {
            "patient_id": patient_id,
            "actor_id": actor_id,
            "action": action,
            "outcome": str(outcome) if outcome else None,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "cursor": cursor,
            "limit": str(limit),
        }
        params = {key: value for key, value in filters.items() if value is not None}
        response = await self._call("GET", "/audit", params=params)
        return self._parse(CursorPage[AuditEntryPublic], response)

    async def verify_audit(self) -> AuditVerifyResult:
        """Walk the audit hash chain on the server and report the first broken link."""
        return self._parse(AuditVerifyResult, await self._call("GET", "/audit/verify"))

    # -- transport --------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: BaseModel | dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """Send one request; refresh before it if due and retry once after a token 401."""
        payload = json.model_dump(mode="json") if isinstance(json, BaseModel) else json
        if not auth:
            return self._checked(await self._send(method, path, payload, None, params))

        if self.refresh_due():
            await self._refresh(stale=self._tokens)
        tokens = self._require_tokens()
        response = await self._send(method, path, payload, tokens.access_token, params)
        if response.status_code == 401 and self._error_code(response) != "invalid_credentials":
            await self._refresh(stale=tokens)
            access_token = self._require_tokens().access_token
            response = await self._send(method, path, payload, access_token, params)
        return self._checked(response)

    async def _send(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        access_token: str | None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else None
        try:
            response = await self._http.request(
                method, path, json=payload, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning("%s %s failed: %s", method, path, type(exc).__name__)
            raise ApiError(0, "network_error", NETWORK_MESSAGE) from None
        log.debug("%s %s -> %s", method, path, response.status_code)
        return response

    async def _refresh(self, *, stale: SessionTokens | None) -> None:
        """Rotate the tokens unless another caller already did while we waited for the lock.

        `stale` is the token set the caller found wanting; if it is no longer current, a
        concurrent refresh replaced it and there is nothing left to do.
        """
        async with self._refresh_lock:
            current = self._require_tokens()
            if current is not stale:
                return
            if self._clock() >= current.refresh_expires_at:
                self._end_session()
            body = RefreshRequest(refresh_token=current.refresh_token)
            response = await self._send("POST", "/auth/refresh", body.model_dump(), None)
            if response.status_code in (400, 401, 403, 422):
                self._end_session()
            pair = self._parse(TokenPair, self._checked(response))
            self._store_tokens(pair)
            log.info("session tokens rotated")

    def _end_session(self) -> None:
        self._tokens = None
        log.info("session ended by the server")
        if self.on_session_ended is not None:
            self.on_session_ended()
        raise ApiError(401, "session_ended", SESSION_ENDED_MESSAGE)

    def _require_tokens(self) -> SessionTokens:
        if self._tokens is None:
            raise ApiError(401, "session_ended", SESSION_ENDED_MESSAGE)
        return self._tokens

    def _store_tokens(self, pair: TokenPair) -> None:
        now = self._clock()
        self._tokens = SessionTokens(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            access_expires_at=now + pair.expires_in,
            refresh_expires_at=now + pair.refresh_expires_in,
        )

    @staticmethod
    def _error_code(response: httpx.Response) -> str | None:
        try:
            return ErrorBody.model_validate(response.json()).error.code
        except (ValueError, ValidationError):
            return None

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        """Turn any 4xx/5xx into an `ApiError` built from the error body."""
        if response.is_success:
            return response
        try:
            detail = ErrorBody.model_validate(response.json()).error
        except (ValueError, ValidationError):
            raise ApiError(
                response.status_code,
                "unexpected_response",
                "CareCircle answered in a way we did not expect. Try again in a moment.",
            ) from None
        raise ApiError(response.status_code, detail.code, detail.message, detail.fields)

    @staticmethod
    def _parse(model: type[ModelT], response: httpx.Response) -> ModelT:
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError):
            log.error("unexpected body from %s", response.request.url.path)
            raise ApiError(
                response.status_code,
                "unexpected_response",
                "CareCircle answered in a way we did not expect. Try again in a moment.",
            ) from None

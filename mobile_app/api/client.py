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
from collections.abc import AsyncIterator, Callable
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
from shared.schemas.messaging import (
    AttachmentPublic,
    ConversationCreate,
    ConversationPublic,
    ConversationResync,
    ConversationUpdate,
    MessageCreate,
    MessageEdit,
    MessagePublic,
    MessageRetract,
    MessageRevisionPublic,
)
from shared.schemas.notifications import (
    NotificationPreferencesPublic,
    NotificationPreferencesUpdate,
    NotificationPublic,
    PushTestQueued,
    UnreadCount,
)
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
UPLOAD_TIMEOUT_SECONDS = 120.0
UPLOAD_CHUNK_BYTES = 64 * 1024

ProgressCallback = Callable[[int, int], None]
"""Called with (bytes sent, bytes in all) while an attachment uploads."""

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


@dataclass(frozen=True, slots=True)
class _Extra:
    """What a few calls add to a request: a raw body, headers, a longer timeout."""

    content: Callable[[], AsyncIterator[bytes]] | None = None
    headers: dict[str, str] | None = None
    time_limit: float | None = None


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
        self._token_listeners: list[Callable[[], None]] = []
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

    @property
    def api_url(self) -> str:
        """The server's base URL (without /api/v1), e.g. for the websocket client."""
        return self._api_url

    def on_tokens_rotated(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after every refresh (the websocket re-authenticates with the new
        token); the returned function unregisters it."""
        self._token_listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._token_listeners:
                self._token_listeners.remove(listener)

        return unsubscribe

    async def fresh_access_token(self) -> str:
        """The access token, refreshed first when it is about to expire (for the websocket,
        which cannot retry a request the way `_call` does)."""
        if self.refresh_due():
            await self._refresh(stale=self._tokens)
        return self._require_tokens().access_token

    def end_session_from_server(self) -> None:
        """The server said this session is over (the websocket closed with "signed out"):
        drop the tokens and tell the session store, as a rejected refresh would."""
        if self._tokens is None:
            return
        self._tokens = None
        log.info("session ended by the server")
        if self.on_session_ended is not None:
            self.on_session_ended()

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

    async def mark_all_notifications_read(self) -> None:
        await self._call("POST", "/notifications/read-all")

    async def unread_count(self) -> UnreadCount:
        return self._parse(UnreadCount, await self._call("GET", "/notifications/unread"))

    async def notification_preferences(self) -> NotificationPreferencesPublic:
        response = await self._call("GET", "/notifications/preferences")
        return self._parse(NotificationPreferencesPublic, response)

    async def update_notification_preferences(
        self, body: NotificationPreferencesUpdate
    ) -> NotificationPreferencesPublic:
        # Only what changed: a field left out stays as it is on the server.
        changes = body.model_dump(mode="json", exclude_unset=True)
        response = await self._call("PATCH", "/notifications/preferences", json=changes)
        return self._parse(NotificationPreferencesPublic, response)

    async def send_test_push(self) -> PushTestQueued:
        return self._parse(PushTestQueued, await self._call("POST", "/notifications/test-push"))

    # -- messaging --------------------------------------------------------------------------

    async def list_conversations(self, patient_id: str | None = None) -> Page[ConversationPublic]:
        params = {"patient_id": patient_id} if patient_id else None
        response = await self._call("GET", "/conversations", params=params)
        return self._parse(Page[ConversationPublic], response)

    async def create_conversation(self, body: ConversationCreate) -> ConversationPublic:
        response = await self._call("POST", "/conversations", json=body)
        return self._parse(ConversationPublic, response)

    async def get_conversation(self, conversation_id: str) -> ConversationPublic:
        response = await self._call("GET", f"/conversations/{conversation_id}")
        return self._parse(ConversationPublic, response)

    async def update_conversation(
        self, conversation_id: str, body: ConversationUpdate
    ) -> ConversationPublic:
        response = await self._call("PATCH", f"/conversations/{conversation_id}", json=body)
        return self._parse(ConversationPublic, response)

    async def add_conversation_member(self, conversation_id: str, user_id: str) -> None:
        await self._call(
            "POST", f"/conversations/{conversation_id}/members", json={"user_id": user_id}
        )

    async def remove_conversation_member(self, conversation_id: str, user_id: str) -> None:
        await self._call("DELETE", f"/conversations/{conversation_id}/members/{user_id}")

    async def care_team_thread(self, patient_id: str) -> ConversationPublic:
        """The patient's care-team conversation (the server creates it on first use)."""
        response = await self._call("GET", f"/patients/{patient_id}/care-team-thread")
        return self._parse(ConversationPublic, response)

    async def list_messages(
        self, conversation_id: str, *, before: int | str | None = None, limit: int = 50
    ) -> CursorPage[MessagePublic]:
        """One page of messages, ascending by seq: the newest page without `before`; the page's
        `next_cursor` is the `before` of the page older than it."""
        params = {"limit": str(limit)}
        if before is not None:
            params["before"] = str(before)
        response = await self._call(
            "GET", f"/conversations/{conversation_id}/messages", params=params
        )
        return self._parse(CursorPage[MessagePublic], response)

    async def send_message(self, conversation_id: str, body: MessageCreate) -> MessagePublic:
        """Store a message; sending the same `client_id` again returns the stored one."""
        response = await self._call("POST", f"/conversations/{conversation_id}/messages", json=body)
        return self._parse(MessagePublic, response)

    async def edit_message(self, conversation_id: str, message_id: str, body: str) -> MessagePublic:
        response = await self._call(
            "PATCH",
            f"/conversations/{conversation_id}/messages/{message_id}",
            json=MessageEdit(body=body),
        )
        return self._parse(MessagePublic, response)

    async def retract_message(
        self, conversation_id: str, message_id: str, reason: str | None = None
    ) -> MessagePublic:
        body = MessageRetract(reason=reason) if reason else MessageRetract()
        response = await self._call(
            "POST", f"/conversations/{conversation_id}/messages/{message_id}/retract", json=body
        )
        return self._parse(MessagePublic, response)

    async def message_history(
        self, conversation_id: str, message_id: str
    ) -> Page[MessageRevisionPublic]:
        response = await self._call(
            "GET", f"/conversations/{conversation_id}/messages/{message_id}/history"
        )
        return self._parse(Page[MessageRevisionPublic], response)

    async def mark_read(self, conversation_id: str, seq: int) -> None:
        await self._call("POST", f"/conversations/{conversation_id}/read", json={"seq": seq})

    async def resync(self, conversation_id: str, *, seq: int, change: int) -> ConversationResync:
        """What this client missed in one conversation since (seq, change)."""
        response = await self._call(
            "GET",
            f"/conversations/{conversation_id}/resync",
            params={"seq": str(seq), "change": str(change)},
        )
        return self._parse(ConversationResync, response)

    async def upload_attachment(
        self,
        conversation_id: str,
        filename: str,
        data: bytes,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> AttachmentPublic:
        """Upload a file's bytes as they are; the server detects the type from the bytes."""
        total = len(data)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, total, UPLOAD_CHUNK_BYTES):
                chunk = data[start : start + UPLOAD_CHUNK_BYTES]
                yield chunk
                if on_progress is not None:
                    on_progress(min(start + len(chunk), total), total)

        response = await self._call(
            "POST",
            f"/conversations/{conversation_id}/attachments",
            params={"filename": filename},
            content=chunks,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(total)},
            time_limit=UPLOAD_TIMEOUT_SECONDS,
        )
        return self._parse(AttachmentPublic, response)

    async def download_attachment(
        self, conversation_id: str, attachment_id: str
    ) -> tuple[bytes, str]:
        """The file's bytes and content type, fetched with the bearer token (a browser cannot
        add it to an image or link URL itself)."""
        response = await self._call(
            "GET",
            f"/conversations/{conversation_id}/attachments/{attachment_id}",
            time_limit=UPLOAD_TIMEOUT_SECONDS,
        )
        content_type = response.headers.get("content-type", "application/octet-stream")
        return response.content, content_type.split(";")[0].strip()

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
        content: Callable[[], AsyncIterator[bytes]] | None = None,
        headers: dict[str, str] | None = None,
        time_limit: float | None = None,
    ) -> httpx.Response:
        """Send one request; refresh before it if due and retry once after a token 401.

        `content` is a factory of the raw body, so the retry can send it again from the start.
        """
        payload = json.model_dump(mode="json") if isinstance(json, BaseModel) else json
        extra = _Extra(content=content, headers=headers, time_limit=time_limit)
        if not auth:
            return self._checked(await self._send(method, path, payload, None, params, extra))

        if self.refresh_due():
            await self._refresh(stale=self._tokens)
        tokens = self._require_tokens()
        response = await self._send(method, path, payload, tokens.access_token, params, extra)
        if response.status_code == 401 and self._error_code(response) != "invalid_credentials":
            await self._refresh(stale=tokens)
            access_token = self._require_tokens().access_token
            response = await self._send(method, path, payload, access_token, params, extra)
        return self._checked(response)

    async def _send(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        access_token: str | None,
        params: dict[str, str] | None = None,
        extra: "_Extra | None" = None,
    ) -> httpx.Response:
        headers = dict(extra.headers or {}) if extra else {}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        options: dict[str, Any] = {}
        if extra is not None and extra.time_limit is not None:
            options["timeout"] = extra.time_limit
        if extra is not None and extra.content is not None:
            options["content"] = extra.content()
        else:
            options["json"] = payload
        try:
            response = await self._http.request(
                method, path, params=params, headers=headers or None, **options
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
        for listener in list(self._token_listeners):
            try:
                listener()
            except Exception:
                log.exception("token listener failed")

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

"""The websocket: one per signed-in client session, carrying every conversation its user is in.

Protocol in `shared.schemas.messaging`. The socket's reader handles one frame at a time, so a
client's own frames are answered in the order sent; a malformed frame gets an error frame and
the socket stays open.
"""

import asyncio
import contextlib
import logging
import time
import uuid

from fastapi import APIRouter, WebSocket
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend.audit import service as audit
from backend.core.config import Settings
from backend.core.db import Database, RequestContext, commit, rollback
from backend.core.errors import AppError
from backend.core.security import decode_access_token
from backend.identity.models import AuthSession, User
from backend.identity.permissions import Principal
from backend.messaging import membership, service
from backend.messaging.models import Conversation
from backend.messaging.permissions import load_access
from backend.messaging.service import ConversationAccess, basis_for
from backend.patients.models import Patient
from backend.realtime.hub import CLOSE_TOKEN, Connection, Hub
from backend.realtime.presence import REFRESH_SECONDS
from shared.schemas.messaging import (
    AckFrame,
    AuthFrame,
    ClientFrame,
    ErrorFrame,
    PingFrame,
    ReadFrame,
    ReadyFrame,
    ResyncCursor,
    ResyncDoneFrame,
    ResyncEventFrame,
    ResyncFrame,
    SendFrame,
    TypingEventFrame,
    TypingFrame,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["realtime"])

MAX_FRAME_CHARS = 64 * 1024
TYPING_INTERVAL_SECONDS = 2.0
AUDIT_FLUSH_SECONDS = 300.0
ACCESS_CACHE_SECONDS = 5.0
"""How long a socket trusts an access check for sends (membership removal is still at once)."""
_frames: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


async def _authenticate(db: Database, settings: Settings, token: str, ctx: RequestContext):
    """The principal behind `token` and when the token expires, or _Refused."""
    try:
        claims = decode_access_token(settings, token)
    except AppError as exc:
        raise _Refused(exc.message) from None
    async with db.session(ctx) as session:
        row = (
            await session.execute(
                select(User, AuthSession)
                .join(AuthSession, AuthSession.user_id == User.id)
                .where(User.id == claims.user_id, AuthSession.id == claims.session_id)
            )
        ).first()
    # Closing (not rolling back) keeps the loaded user readable for the socket's lifetime.
    if row is None:
        raise _Refused("The access token is not valid. Sign in again.")
    user, auth_session = row
    if not user.is_active or auth_session.revoked_at is not None:
        raise _Refused("You were signed out on this device. Sign in again.")
    expires = claims.expires_at
    return Principal(user=user, session_id=auth_session.id), expires


class SocketSession:
    """Everything one socket does; lives as long as the socket."""

    def __init__(self, websocket: WebSocket) -> None:
        app = websocket.app
        self.websocket = websocket
        self.settings: Settings = app.state.settings
        self.db: Database = app.state.db
        self.hub: Hub = app.state.hub
        agent = websocket.headers.get("user-agent")
        self.ctx = RequestContext(
            ip=websocket.client.host if websocket.client else None,
            user_agent=agent[:300] if agent else None,
        )
        self.principal: Principal | None = None
        self.connection: Connection | None = None
        self.expires_at = 0.0
        self.typing_sent: dict[uuid.UUID, float] = {}
        self.access_cache: dict[uuid.UUID, tuple[float, ConversationAccess]] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        await self.websocket.accept()
        try:
            first = await asyncio.wait_for(
                self.websocket.receive_text(), timeout=self.settings.ws_auth_timeout_seconds
            )
            frame = _frames.validate_json(first)
            if not isinstance(frame, AuthFrame):
                raise _Refused('Send your access token first: {"type": "auth", ...}.')
            self.principal, expires = await _authenticate(
                self.db, self.settings, frame.token, self.ctx
            )
        except (TimeoutError, ValidationError, _Refused, WebSocketDisconnect, KeyError) as exc:
            reason = exc.message if isinstance(exc, _Refused) else "Authenticate first."
            with contextlib.suppress(Exception):
                await self.websocket.close(code=CLOSE_TOKEN, reason=reason[:120])
            return
        self.expires_at = expires.timestamp()
        async with self.db.session(self.ctx) as session:
            conversations = await membership.principal_conversation_ids(session, self.principal)
            audit.record(session, action="realtime.connect", actor=self.principal)
            await commit(session)
        connection = Connection(
            user_id=self.principal.id,
            session_id=self.principal.session_id,
            conversations=conversations,
        )
        self.connection = connection
        await self.hub.register(connection)
        connection.push(
            ReadyFrame(
                user_id=self.principal.id, expires_at=expires, conversations=sorted(conversations)
            ).model_dump_json()
        )
        writer = asyncio.create_task(self._writer(), name="ws-writer")
        watchdog = asyncio.create_task(self._watchdog(), name="ws-watchdog")
        try:
            await self._reader()
        finally:
            connection.close(1000, "")
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(writer, timeout=5)
            writer.cancel()
            await self.hub.unregister(connection)
            await self._audit_deliveries()

    async def _writer(self) -> None:
        assert self.connection is not None
        queue = self.connection.queue
        try:
            while True:
                text = await queue.get()
                if text is None:
                    break
                await self.websocket.send_text(text)
        except Exception:  # the peer went away; the reader sees the disconnect
            return
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(
                    code=self.connection.close_code or 1000,
                    reason=self.connection.close_reason[:120],
                )

    async def _watchdog(self) -> None:
        """Closes the socket when its token expires (unless renewed by an `auth` frame), keeps
        presence fresh, and writes the audit trail of live deliveries now and then."""
        assert self.connection is not None and self.principal is not None
        last_audit = time.monotonic()
        while True:
            remaining = self.expires_at - time.time()
            if remaining <= 0:
                self.connection.close(CLOSE_TOKEN, "Your access token expired. Reconnect.")
                return
            await asyncio.sleep(min(remaining, REFRESH_SECONDS))
            await self.hub.presence.refresh(self.principal.id, self.connection.id)
            if time.monotonic() - last_audit > AUDIT_FLUSH_SECONDS:
                last_audit = time.monotonic()
                await self._audit_deliveries()

    async def _audit_deliveries(self) -> None:
        """Messages pushed live are reads too: one entry per conversation and seq range."""
        assert self.connection is not None and self.principal is not None
        delivered, self.connection.delivered = self.connection.delivered, {}
        if not delivered:
            return
        try:
            async with self.db.session(self.ctx) as session:
                for conversation_id, (low, high) in delivered.items():
                    # Recorded even if the person has since left: they did receive these.
                    conversation = await session.get(Conversation, conversation_id)
                    patient = conversation and await session.get(Patient, conversation.patient_id)
                    if conversation is None or patient is None:
                        continue
                    ConversationAccess(
                        conversation=conversation,
                        patient=patient,
                        member=None,  # type: ignore[arg-type]
                        principal=self.principal,
                        basis=basis_for(self.principal, patient),
                    ).record(session, "message.read", from_seq=low, to_seq=high, live=True)
                await commit(session)
        except Exception:
            log.exception("could not audit live deliveries")

    # -- frames -------------------------------------------------------------------------------

    async def _reader(self) -> None:
        while True:
            try:
                message = await self.websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            assert self.connection is not None
            if self.connection.close_code is not None:
                return
            text = message.get("text")
            if text is None:
                self._error("bad_frame", "Send JSON text frames, not binary ones.")
                continue
            if len(text) > MAX_FRAME_CHARS:
                self._error("frame_too_large", f"Frames are at most {MAX_FRAME_CHARS} characters.")
                continue
            try:
                frame = _frames.validate_json(text)
            except ValidationError as exc:
                self._error("bad_frame", _describe(exc))
                continue
            try:
                await self._handle(frame)
            except AppError as exc:
                self._error(exc.code, exc.message, getattr(frame, "client_id", None))
            except Exception:
                log.exception("websocket frame failed")
                self._error(
                    "server_error",
                    "Something went wrong on our side; nothing was changed. Try again.",
                    getattr(frame, "client_id", None),
                )

    def _error(
        self,
        code: str,
        message: str,
        client_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        assert self.connection is not None
        self.connection.push(
            ErrorFrame(
                code=code, message=message, client_id=client_id, retry_after=retry_after
            ).model_dump_json(exclude_none=True)
        )

    async def _handle(self, frame: object) -> None:
        if isinstance(frame, PingFrame):
            self.connection.push('{"type":"pong"}')
        elif isinstance(frame, AuthFrame):
            await self._reauth(frame)
        elif isinstance(frame, SendFrame):
            await self._send(frame)
        elif isinstance(frame, ReadFrame):
            await self._in_transaction(frame.conversation_id, self._read(frame))
        elif isinstance(frame, TypingFrame):
            await self._typing(frame)
        elif isinstance(frame, ResyncFrame):
            await self._resync(frame)

    async def _reauth(self, frame: AuthFrame) -> None:
        try:
            principal, expires = await _authenticate(self.db, self.settings, frame.token, self.ctx)
        except _Refused as exc:
            self.connection.close(CLOSE_TOKEN, exc.message)
            return
        if principal.id != self.principal.id:
            self.connection.close(CLOSE_TOKEN, "That token belongs to someone else.")
            return
        self.principal, self.expires_at = principal, expires.timestamp()
        self.connection.session_id = principal.session_id

    async def _access(self, session, conversation_id: uuid.UUID, *, cached: bool):
        """The member's access, re-checked in the database at most every few seconds for
        sends. Removal from the conversation is applied at once anyway: membership events drop
        it from this socket's set, and a cached access counts only while it is in the set."""
        now = time.monotonic()
        if cached and conversation_id in self.connection.conversations:
            hit = self.access_cache.get(conversation_id)
            if hit is not None and hit[0] > now:
                return hit[1]
        access = await load_access(session, self.principal, conversation_id)
        if cached:
            # Detached, so that no later rollback expires what the cache holds.
            for row in (access.conversation, access.patient, access.member):
                session.expunge(row)
            self.access_cache[conversation_id] = (now + ACCESS_CACHE_SECONDS, access)
        return access

    async def _in_transaction(self, conversation_id: uuid.UUID, step, *, cached=False) -> None:
        """Run `step(session, access)` in one transaction, committed or rolled back whole."""
        async with self.db.session(self.ctx) as session:
            session.info["hub"] = self.hub
            try:
                access = await self._access(session, conversation_id, cached=cached)
                await step(session, access)
            except AppError as exc:
                if exc.keep_changes:
                    await commit(session)
                else:
                    await rollback(session)
                raise
            except BaseException:
                await rollback(session)
                raise
            await commit(session)

    async def _send(self, frame: SendFrame) -> None:
        wait = self.hub.send_bucket(
            self.principal.id, self.settings.ws_send_rate, self.settings.ws_send_burst
        ).take()
        if wait > 0:
            self._error(
                "rate_limited",
                f"You are sending too fast. Wait {wait:.1f} s; this message was not sent.",
                frame.client_id,
                retry_after=round(wait, 2),
            )
            return
        result: list[AckFrame] = []

        async def step(session, access) -> None:
            message, duplicate = await service.send_message(
                session,
                hub=self.hub,
                keyring=self.settings.keyring,
                access=access,
                data=frame,
                skip_connection=self.connection.id,
            )
            result.append(AckFrame(client_id=frame.client_id, message=message, duplicate=duplicate))

        await self._in_transaction(frame.conversation_id, step, cached=True)
        self.connection.push(result[0].model_dump_json())

    def _read(self, frame: ReadFrame):
        async def step(session, access) -> None:
            await service.mark_read(session, hub=self.hub, access=access, seq=frame.seq)

        return step

    async def _typing(self, frame: TypingFrame) -> None:
        conversation_id = frame.conversation_id
        if conversation_id not in self.connection.conversations:
            self._error("not_member", "You are not a member of this conversation.")
            return
        now = time.monotonic()
        if now - self.typing_sent.get(conversation_id, 0.0) < TYPING_INTERVAL_SECONDS:
            return  # throttled: the others already see "typing"
        self.typing_sent[conversation_id] = now
        event = TypingEventFrame(
            conversation_id=conversation_id,
            user_id=self.principal.id,
            full_name=self.principal.user.full_name,
        ).model_dump_json()
        async with self.db.session(self.ctx) as session:
            members = await service.active_member_ids(session, conversation_id)
        others = [m for m in members if m != self.principal.id]
        await self.hub.deliver(conversation_id, others, event)

    async def _resync(self, frame: ResyncFrame) -> None:
        cursors = dict(frame.cursors)
        if frame.all:
            for conversation_id in self.connection.conversations:
                cursors.setdefault(conversation_id, ResyncCursor())
        for conversation_id, cursor in cursors.items():
            seq, change = cursor.seq, cursor.change
            while True:
                batch: list = []

                async def step(session, access, seq=seq, change=change, batch=batch) -> None:
                    batch.append(
                        await service.resync(
                            session,
                            keyring=self.settings.keyring,
                            access=access,
                            seq=seq,
                            change=change,
                        )
                    )

                try:
                    await self._in_transaction(conversation_id, step)
                except AppError as exc:
                    self._error(exc.code, exc.message)
                    break
                result = batch[0]
                # Already validated models: wrap them as a frame without validating again.
                fields = {name: getattr(result, name) for name in type(result).model_fields}
                self.connection.push(ResyncEventFrame.model_construct(**fields).model_dump_json())
                if not result.has_more:
                    break
                seq, change = result.messages[-1].seq, result.last_change
        self.connection.push(ResyncDoneFrame().model_dump_json())


def _describe(exc: ValidationError) -> str:
    """One sentence about the first problem, naming the field."""
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "frame"
    if error["type"] == "json_invalid":
        return "The frame is not valid JSON."
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return "Unknown or missing frame type; use auth, send, read, typing, resync or ping."
    return f"{where}: {error['msg']}"


@router.websocket("/ws")
async def socket(websocket: WebSocket) -> None:
    try:
        await SocketSession(websocket).run()
    except Exception:
        log.exception("websocket session failed")
        if websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(code=1011, reason="Server error; reconnect and resync.")

"""Secure messaging as one person sees it: their conversations, the open thread, what is still
on its way out, who is typing and who has read what.

The database is the truth and the socket a hint (STYLE.md §5), so the store guarantees:

- a thread shows each message once, in seq order, with no holes: a message that arrives ahead
  of its predecessor waits in a small buffer for `gap_wait` seconds, then the store asks the
  server for what it missed (resync); a seq it already has is dropped as a duplicate;
- a message written while offline stays on screen as pending and goes out once the socket is
  back and the thread has been resynced, with the same `client_id`, so a retry of a send that
  did reach the server is a no-op there;
- unread counts and "seen by" come from the server's read pointers, corrected live by frames;
- `reset` forgets every conversation, message and file on sign-out.

Views call the methods; the websocket client (`mobile_app.api.realtime`) feeds `on_ready`,
`on_frame` and `on_connection`.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from mobile_app.api.client import ApiClient, ApiError, Clock
from mobile_app.api.realtime import ConnectionState
from mobile_app.stores.observable import Observable
from mobile_app.stores.patients import LoadState
from shared.enums import MessageState
from shared.schemas.messaging import (
    MAX_ATTACHMENT_BYTES,
    MAX_BODY_CHARS,
    AttachmentPublic,
    ClientFrameType,
    ConversationPublic,
    ConversationResync,
    MessageCreate,
    MessagePublic,
    ReadyFrame,
    ServerFrameType,
)

log = logging.getLogger("carecircle.client.messages")

GAP_WAIT_SECONDS = 0.3
"""How long a message that arrived ahead of its predecessor waits before a resync."""
TYPING_SEND_INTERVAL = 3.0
"""Tell the others at most this often that you are typing."""
TYPING_SHOW_SECONDS = 5.0
"""How long "X is typing…" stays after the last typing frame."""
PAGE_SIZE = 50
RETRACTED_TEXT = "Message retracted (entered in error)"
OFFLINE_ATTACH_MESSAGE = "You're offline. Attach the file again once you're back online."


class FrameSender(Protocol):
    """The websocket, as far as the store needs it: typing hints go out through it."""

    async def send(self, frame: dict[str, Any]) -> bool: ...


@dataclass(slots=True)
class PendingMessage:
    """A message written on this device that the server has not confirmed yet."""

    client_id: str
    conversation_id: uuid.UUID
    body: str
    attachment: AttachmentPublic | None
    created_at: datetime
    confirmed: bool = False
    """The server stored it; it still shows here until the thread has it in order."""
    error: str | None = None
    """Why the server refused it (it stays, with a retry, instead of vanishing)."""
    sending: bool = False


@dataclass(slots=True)
class UploadProgress:
    conversation_id: uuid.UUID
    filename: str
    sent: int
    total: int
    error: str | None = None

    @property
    def fraction(self) -> float:
        return self.sent / self.total if self.total else 1.0


@dataclass(slots=True)
class Thread:
    """The messages of one conversation this device has loaded, without holes."""

    conversation_id: uuid.UUID
    state: LoadState = LoadState.loading
    messages: dict[int, MessagePublic] = field(default_factory=dict)
    last_seq: int = 0
    """Every message up to this seq is in `messages` (or older than the loaded pages)."""
    last_change: int = 0
    older_cursor: str | None = None
    loading_older: bool = False
    buffer: dict[int, MessagePublic] = field(default_factory=dict)
    gap_task: asyncio.Task[None] | None = None
    error: str | None = None

    @property
    def ordered(self) -> list[MessagePublic]:
        return [self.messages[seq] for seq in sorted(self.messages)]


@dataclass(frozen=True, slots=True)
class SeenBy:
    seq: int
    names: list[str]


def new_client_id() -> str:
    return f"cc-{uuid.uuid4().hex}"


class MessagesStore(Observable):
    def __init__(
        self,
        api: ApiClient,
        *,
        clock: Clock = time.monotonic,
        gap_wait: float = GAP_WAIT_SECONDS,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__()
        self._api = api
        self._clock = clock
        self._gap_wait = gap_wait
        self._page_size = page_size
        self.realtime: FrameSender | None = None
        self._generation = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reset_state()

    def _reset_state(self) -> None:
        self.user_id: uuid.UUID | None = None
        self.patient_id: uuid.UUID | None = None
        """Whose conversations (patients and family); None for staff (all of theirs)."""
        self.state = LoadState.idle
        self.error: str | None = None
        self.conversations: dict[uuid.UUID, ConversationPublic] = {}
        self.threads: dict[uuid.UUID, Thread] = {}
        self.outbox: dict[str, PendingMessage] = {}
        self.open_id: uuid.UUID | None = None
        self.visible = False
        self.connection = ConnectionState.offline
        self.typing: dict[uuid.UUID, dict[uuid.UUID, tuple[str, float]]] = {}
        self._typing_sent_at: dict[uuid.UUID, float] = {}
        self.upload: UploadProgress | None = None
        self.notice: str | None = None
        self._attachments: dict[uuid.UUID, tuple[bytes, str]] = {}
        self._reading: set[uuid.UUID] = set()

    # -- whose messages ---------------------------------------------------------------------

    def start_session(self, user_id: uuid.UUID, patient_id: uuid.UUID | None) -> None:
        """Who is reading, and for a patient or family member, whose care (None: staff)."""
        if user_id != self.user_id or patient_id != self.patient_id:
            self.reset()
        self.user_id = user_id
        self.patient_id = patient_id

    def reset(self) -> None:
        """Forget everything, e.g. on sign-out or when a family member switches person."""
        self._generation += 1
        for thread in self.threads.values():
            if thread.gap_task is not None:
                thread.gap_task.cancel()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._reset_state()
        self._notify()

    # -- reading ----------------------------------------------------------------------------

    @property
    def ordered_conversations(self) -> list[ConversationPublic]:
        """Urgent first, then by the newest message; threads nobody has written in yet last."""

        def key(c: ConversationPublic) -> tuple[int, int, float, str]:
            empty = c.last_message_at is None
            at = c.last_message_at or c.created_at
            return (0 if c.urgent else 1, 1 if empty else 0, -at.timestamp(), c.patient_name)

        return sorted(self.conversations.values(), key=key)

    @property
    def unread_total(self) -> int:
        return sum(c.unread for c in self.conversations.values())

    @property
    def open_conversation(self) -> ConversationPublic | None:
        return self.conversations.get(self.open_id) if self.open_id else None

    @property
    def open_thread(self) -> Thread | None:
        return self.threads.get(self.open_id) if self.open_id else None

    @property
    def online(self) -> bool:
        return self.connection is ConnectionState.online

    def pending_for(self, conversation_id: uuid.UUID) -> list[PendingMessage]:
        return [p for p in self.outbox.values() if p.conversation_id == conversation_id]

    def typing_names(self, conversation_id: uuid.UUID) -> list[str]:
        now = self._clock()
        people = self.typing.get(conversation_id, {})
        return [name for name, until in people.values() if until > now]

    def seen_by(self, conversation_id: uuid.UUID) -> SeenBy | None:
        """Who has read your latest message in the thread (None if you have not written)."""
        thread = self.threads.get(conversation_id)
        conversation = self.conversations.get(conversation_id)
        if thread is None or conversation is None:
            return None
        mine = [seq for seq, m in thread.messages.items() if m.sender_id == self.user_id]
        if not mine:
            return None
        seq = max(mine)
        names = [
            m.full_name
            for m in conversation.members
            if m.user_id != self.user_id and m.read_seq >= seq
        ]
        return SeenBy(seq, names)

    async def load(self) -> None:
        """Read the conversation list; a patient's or family member's care-team thread is
        created on first use, so it is always there to write in."""
        generation = self._generation
        self.state = LoadState.loading
        self.error = None
        self._notify()
        try:
            if self.patient_id is not None:
                await self._api.care_team_thread(str(self.patient_id))
            page = await self._api.list_conversations(
                str(self.patient_id) if self.patient_id else None
            )
        except ApiError as exc:
            if generation == self._generation:
                self.state = LoadState.failed
                self.error = exc.message
                self._notify()
            return
        if generation != self._generation:
            return
        self.conversations = {c.id: self._merged(c) for c in page.data}
        self.state = LoadState.loaded
        self._notify()

    async def open(self, conversation_id: uuid.UUID) -> None:
        """Show a thread: its newest page the first time, and mark it read if it is visible."""
        self.open_id = conversation_id
        self._notify()
        thread = self.threads.get(conversation_id)
        if thread is None or thread.state is LoadState.failed:
            await self._load_thread(conversation_id)
        await self.mark_read()

    def close_thread(self) -> None:
        """Back to the list (phones)."""
        self.open_id = None
        self._notify()

    def set_visible(self, visible: bool) -> None:
        """Whether the open thread is on screen; messages are marked read only then."""
        if visible == self.visible:
            return
        self.visible = visible
        if visible:
            self._spawn(self.mark_read())

    async def load_older(self) -> None:
        thread = self.open_thread
        if thread is None or thread.older_cursor is None or thread.loading_older:
            return
        generation = self._generation
        thread.loading_older = True
        self._notify()
        try:
            page = await self._api.list_messages(
                str(thread.conversation_id), before=thread.older_cursor, limit=self._page_size
            )
        except ApiError as exc:
            thread.loading_older = False
            self.notice = exc.message
            self._notify()
            return
        if generation != self._generation:
            return
        for message in page.data:
            thread.messages.setdefault(message.seq, message)
        thread.older_cursor = page.next_cursor
        thread.loading_older = False
        self._notify()

    # -- writing ----------------------------------------------------------------------------

    async def send(
        self, text: str, *, attachment: AttachmentPublic | None = None
    ) -> PendingMessage | None:
        """Write in the open thread. It shows at once; it goes out now if online, else when
        the connection is back."""
        conversation_id = self.open_id
        body = text.strip()
        if conversation_id is None or (not body and attachment is None):
            return None
        if len(body) > MAX_BODY_CHARS:
            self.notice = f"Messages can be at most {MAX_BODY_CHARS:,} characters."
            self._notify()
            return None
        pending = PendingMessage(
            client_id=new_client_id(),
            conversation_id=conversation_id,
            body=body,
            attachment=attachment,
            created_at=datetime.now(UTC),
        )
        self.outbox[pending.client_id] = pending
        self.notice = None
        self._notify()
        if self.online:
            await self._deliver(pending)
        return pending

    async def retry(self, client_id: str) -> None:
        pending = self.outbox.get(client_id)
        if pending is None:
            return
        pending.error = None
        self._notify()
        if self.online:
            await self._deliver(pending)

    def discard(self, client_id: str) -> None:
        """Drop a message the server refused (the person decided not to send it)."""
        pending = self.outbox.get(client_id)
        if pending is not None and not pending.confirmed:
            del self.outbox[client_id]
            self._notify()

    async def edit(self, message: MessagePublic, body: str) -> bool:
        try:
            updated = await self._api.edit_message(
                str(message.conversation_id), str(message.id), body.strip()
            )
        except ApiError as exc:
            self.notice = exc.message
            self._notify()
            return False
        self._replace(updated)
        self._notify()
        return True

    async def retract(self, message: MessagePublic, reason: str | None = None) -> bool:
        try:
            updated = await self._api.retract_message(
                str(message.conversation_id), str(message.id), reason
            )
        except ApiError as exc:
            self.notice = exc.message
            self._notify()
            return False
        self._replace(updated)
        self._notify()
        return True

    async def note_typing(self) -> None:
        """The person is typing in the open thread: tell the others, at most every 3 s."""
        conversation_id = self.open_id
        if conversation_id is None or self.realtime is None or not self.online:
            return
        now = self._clock()
        if now - self._typing_sent_at.get(conversation_id, -1e9) < TYPING_SEND_INTERVAL:
            return
        self._typing_sent_at[conversation_id] = now
        await self.realtime.send(
            {"type": ClientFrameType.typing, "conversation_id": str(conversation_id)}
        )

    async def mark_read(self) -> None:
        """Move your read pointer to the newest message of the open, visible thread."""
        conversation = self.open_conversation
        thread = self.open_thread
        if conversation is None or thread is None or not self.visible:
            return
        seq = thread.last_seq
        mine = self._my_read_seq(conversation)
        if seq <= mine and conversation.unread == 0:
            return
        if conversation.id in self._reading:
            return
        self._reading.add(conversation.id)
        try:
            await self._api.mark_read(str(conversation.id), seq)
        except ApiError as exc:
            log.info("mark read failed (%s)", exc.code)
            return
        finally:
            self._reading.discard(conversation.id)
        self._set_read_seq(conversation.id, self.user_id, seq)
        self._notify()

    # -- attachments ------------------------------------------------------------------------

    async def attach(self, filename: str, data: bytes, text: str = "") -> bool:
        """Upload a file to the open thread (progress in `upload`), then send it."""
        conversation_id = self.open_id
        if conversation_id is None:
            return False
        if len(data) > MAX_ATTACHMENT_BYTES:
            self.upload = UploadProgress(
                conversation_id,
                filename,
                0,
                len(data),
                error="Files can be at most 10 MB. Choose a smaller photo or PDF.",
            )
            self._notify()
            return False
        if not self.online:
            self.upload = UploadProgress(
                conversation_id, filename, 0, len(data), error=OFFLINE_ATTACH_MESSAGE
            )
            self._notify()
            return False
        upload = UploadProgress(conversation_id, filename, 0, len(data))
        self.upload = upload
        self._notify()

        def progress(sent: int, total: int) -> None:
            upload.sent = sent
            upload.total = total
            self._notify()

        try:
            attachment = await self._api.upload_attachment(
                str(conversation_id), filename, data, on_progress=progress
            )
        except ApiError as exc:
            upload.error = exc.message
            self._notify()
            return False
        if self.upload is upload:
            self.upload = None
        await self.send(text, attachment=attachment)
        return True

    def show_notice(self, text: str | None) -> None:
        """A message for the person about the open thread (a failed action), or None."""
        self.notice = text
        self._notify()

    def dismiss_upload(self) -> None:
        self.upload = None
        self._notify()

    async def fetch_attachment(
        self, conversation_id: uuid.UUID, attachment: AttachmentPublic
    ) -> tuple[bytes, str]:
        """The file's bytes, fetched with the session's token and kept for this session."""
        cached = self._attachments.get(attachment.id)
        if cached is None:
            cached = await self._api.download_attachment(str(conversation_id), str(attachment.id))
            self._attachments[attachment.id] = cached
        return cached

    # -- the websocket's side ---------------------------------------------------------------

    def on_connection(self, state: ConnectionState) -> None:
        if state is not self.connection:
            self.connection = state
            self._notify()

    async def on_ready(self, ready: ReadyFrame) -> None:
        """Connected (again): catch up from the server, then send what waited."""
        generation = self._generation
        if self.state is LoadState.idle:
            await self.load()
        else:
            await self._refresh_conversations()
        for thread in list(self.threads.values()):
            if generation != self._generation:
                return
            if thread.state is LoadState.loaded:
                await self.resync(thread.conversation_id)
        await self.flush_outbox()
        await self.mark_read()

    def on_frame(self, frame: dict[str, Any]) -> None:
        """Apply one server frame; unknown or malformed frames are ignored."""
        kind = frame.get("type")
        try:
            if kind in (ServerFrameType.message_created, ServerFrameType.message_updated):
                message = MessagePublic.model_validate(frame["message"])
                if kind == ServerFrameType.message_created:
                    # Their message arrived: they are no longer typing it.
                    if message.sender_id is not None:
                        self.typing.get(message.conversation_id, {}).pop(message.sender_id, None)
                    self._receive(message)
                else:
                    self._receive_update(message)
            elif kind == ServerFrameType.ack:
                self._receive(MessagePublic.model_validate(frame["message"]))
            elif kind == ServerFrameType.receipt:
                self._set_read_seq(
                    uuid.UUID(frame["conversation_id"]),
                    uuid.UUID(frame["user_id"]),
                    int(frame["read_seq"]),
                )
            elif kind == ServerFrameType.typing:
                self._receive_typing(frame)
            elif kind == ServerFrameType.conversation_updated:
                self._receive_conversation(ConversationPublic.model_validate(frame["conversation"]))
            elif kind == ServerFrameType.membership:
                self._receive_membership(frame)
            elif kind == ServerFrameType.resync:
                self._apply_resync(ConversationResync.model_validate(frame))
            elif kind == ServerFrameType.error:
                self._receive_error(frame)
            else:
                return
        except (KeyError, TypeError, ValueError, ValidationError):
            log.warning("malformed %s frame ignored", kind)
            return
        self._notify()

    async def flush_outbox(self) -> None:
        """Send every pending message, oldest first; stop at the first network failure."""
        for pending in list(self.outbox.values()):
            if pending.confirmed or pending.error or not self.online:
                continue
            if not await self._deliver(pending):
                break

    async def resync(self, conversation_id: uuid.UUID) -> None:
        """Ask the server what this thread missed since its cursors, until it has it all."""
        thread = self.threads.get(conversation_id)
        if thread is None or thread.state is not LoadState.loaded:
            return
        generation = self._generation
        for _ in range(100):
            try:
                answer = await self._api.resync(
                    str(conversation_id), seq=thread.last_seq, change=thread.last_change
                )
            except ApiError as exc:
                log.info("resync failed (%s)", exc.code)
                return
            if generation != self._generation:
                return
            self._apply_resync(answer)
            self._notify()
            if not answer.has_more:
                return

    # -- internals: conversations -----------------------------------------------------------

    async def _refresh_conversations(self) -> None:
        generation = self._generation
        try:
            page = await self._api.list_conversations(
                str(self.patient_id) if self.patient_id else None
            )
        except ApiError as exc:
            log.info("conversation list refresh failed (%s)", exc.code)
            return
        if generation != self._generation:
            return
        self.conversations = {c.id: self._merged(c) for c in page.data}
        if self.open_id is not None and self.open_id not in self.conversations:
            self.open_id = None  # removed from it while away
        self.state = LoadState.loaded
        self._notify()

    def _merged(self, fresh: ConversationPublic) -> ConversationPublic:
        """A conversation as the server sent it, keeping read pointers that moved on here."""
        known = self.conversations.get(fresh.id)
        if known is None:
            return fresh
        read = {m.user_id: m.read_seq for m in known.members}
        members = [
            m.model_copy(update={"read_seq": max(m.read_seq, read.get(m.user_id, 0))})
            for m in fresh.members
        ]
        return fresh.model_copy(update={"members": members})

    def _my_read_seq(self, conversation: ConversationPublic) -> int:
        for member in conversation.members:
            if member.user_id == self.user_id:
                return member.read_seq
        return 0

    def _set_read_seq(
        self, conversation_id: uuid.UUID, user_id: uuid.UUID | None, seq: int
    ) -> None:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return
        members = [
            m.model_copy(update={"read_seq": max(m.read_seq, seq)}) if m.user_id == user_id else m
            for m in conversation.members
        ]
        update: dict[str, Any] = {"members": members}
        if user_id == self.user_id:
            thread = self.threads.get(conversation_id)
            unread = 0
            if thread is not None:
                unread = sum(
                    1 for s, m in thread.messages.items() if s > seq and m.sender_id != self.user_id
                )
            elif seq < conversation.last_seq:
                unread = conversation.unread
            update["unread"] = unread
        self.conversations[conversation_id] = conversation.model_copy(update=update)

    def _note_in_summary(self, message: MessagePublic) -> None:
        """Keep the list's newest seq, time and unread count in step with a new message."""
        conversation = self.conversations.get(message.conversation_id)
        if conversation is None:
            self._spawn(self._fetch_conversation(message.conversation_id))
            return
        if message.seq <= conversation.last_seq:
            return
        update: dict[str, Any] = {
            "last_seq": message.seq,
            "last_message_at": message.created_at,
        }
        reading = self.open_id == message.conversation_id and self.visible
        if message.sender_id != self.user_id and not reading:
            update["unread"] = conversation.unread + 1
        self.conversations[conversation.id] = conversation.model_copy(update=update)

    async def _fetch_conversation(self, conversation_id: uuid.UUID) -> None:
        generation = self._generation
        try:
            conversation = await self._api.get_conversation(str(conversation_id))
        except ApiError:
            return
        if generation != self._generation:
            return
        if self.patient_id is not None and conversation.patient_id != self.patient_id:
            return  # another relative's conversation: not shown while viewing this one
        self.conversations[conversation.id] = self._merged(conversation)
        self._notify()

    def _receive_conversation(self, conversation: ConversationPublic) -> None:
        known = self.conversations.get(conversation.id)
        if known is None:
            if self.patient_id is None or conversation.patient_id == self.patient_id:
                self._spawn(self._fetch_conversation(conversation.id))
            return
        # The frame goes to everyone, so its unread count is not ours: keep our own.
        merged = self._merged(conversation).model_copy(
            update={"unread": known.unread, "last_seq": max(known.last_seq, conversation.last_seq)}
        )
        self.conversations[conversation.id] = merged

    def _receive_membership(self, frame: dict[str, Any]) -> None:
        conversation_id = uuid.UUID(frame["conversation_id"])
        user_id = uuid.UUID(frame["user_id"])
        if frame["change"] == "removed" and user_id == self.user_id:
            self.conversations.pop(conversation_id, None)
            thread = self.threads.pop(conversation_id, None)
            if thread is not None and thread.gap_task is not None:
                thread.gap_task.cancel()
            if self.open_id == conversation_id:
                self.open_id = None
            return
        self._spawn(self._fetch_conversation(conversation_id))

    def _receive_typing(self, frame: dict[str, Any]) -> None:
        user_id = uuid.UUID(frame["user_id"])
        if user_id == self.user_id:
            return
        conversation_id = uuid.UUID(frame["conversation_id"])
        until = self._clock() + TYPING_SHOW_SECONDS
        self.typing.setdefault(conversation_id, {})[user_id] = (str(frame["full_name"]), until)
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_later(TYPING_SHOW_SECONDS + 0.05, self._expire_typing)

    def _expire_typing(self) -> None:
        now = self._clock()
        changed = False
        for people in self.typing.values():
            for user_id, (_, until) in list(people.items()):
                if until <= now:
                    del people[user_id]
                    changed = True
        if changed:
            self._notify()

    def _receive_error(self, frame: dict[str, Any]) -> None:
        client_id = frame.get("client_id")
        pending = self.outbox.get(client_id) if client_id else None
        if pending is not None and not pending.confirmed:
            pending.sending = False
            if frame.get("retry_after") is None:
                pending.error = str(frame.get("message") or "This message could not be sent.")
        else:
            log.info("server error frame: %s", frame.get("code"))

    # -- internals: threads -----------------------------------------------------------------

    async def _load_thread(self, conversation_id: uuid.UUID) -> None:
        generation = self._generation
        thread = self.threads.get(conversation_id)
        if thread is None:
            thread = Thread(conversation_id)
            self.threads[conversation_id] = thread
        thread.state = LoadState.loading
        thread.error = None
        conversation = self.conversations.get(conversation_id)
        # The change counter is read before the page: an edit made in between is then newer
        # than the cursor and comes back in the next resync instead of being lost.
        last_change = conversation.last_change if conversation else 0
        self._notify()
        try:
            page = await self._api.list_messages(str(conversation_id), limit=self._page_size)
        except ApiError as exc:
            if generation == self._generation:
                thread.state = LoadState.failed
                thread.error = exc.message
                self._notify()
            return
        if generation != self._generation:
            return
        for message in page.data:
            thread.messages[message.seq] = message
            self.outbox.pop(message.client_id or "", None)
        thread.last_seq = max(thread.messages, default=0)
        thread.last_change = last_change
        thread.older_cursor = page.next_cursor
        thread.state = LoadState.loaded
        self._drain(thread)
        self._notify()

    def _receive(self, message: MessagePublic) -> None:
        """A new message from the socket, a send's answer or an ack."""
        self._note_in_summary(message)
        pending = self.outbox.get(message.client_id or "")
        if pending is not None:
            pending.confirmed = True
            pending.sending = False
            pending.error = None
        thread = self.threads.get(message.conversation_id)
        if thread is None:
            if pending is not None:
                del self.outbox[pending.client_id]
            return
        if message.seq <= thread.last_seq and thread.state is LoadState.loaded:
            self.outbox.pop(message.client_id or "", None)
            return  # a duplicate: already shown
        thread.buffer[message.seq] = message
        if thread.state is LoadState.loaded:
            self._drain(thread)

    def _drain(self, thread: Thread) -> None:
        """Move buffered messages into the thread while they follow on without a hole; if a
        hole remains, wait briefly for it and then resync."""
        for seq in [s for s in thread.buffer if s <= thread.last_seq]:
            stale = thread.buffer.pop(seq)
            self.outbox.pop(stale.client_id or "", None)
        while thread.last_seq + 1 in thread.buffer:
            message = thread.buffer.pop(thread.last_seq + 1)
            thread.messages[message.seq] = message
            thread.last_seq = message.seq
            self.outbox.pop(message.client_id or "", None)
        if thread.buffer and thread.gap_task is None:
            with contextlib.suppress(RuntimeError):
                thread.gap_task = asyncio.get_running_loop().create_task(self._close_gap(thread))
        if thread.buffer:
            return
        if self.open_id == thread.conversation_id and self.visible:
            self._spawn(self.mark_read())

    async def _close_gap(self, thread: Thread) -> None:
        try:
            await asyncio.sleep(self._gap_wait)
            if thread.buffer and self.threads.get(thread.conversation_id) is thread:
                log.info("seq gap after %s; resyncing", thread.last_seq)
                thread.gap_task = None
                await self.resync(thread.conversation_id)
        finally:
            if thread.gap_task is asyncio.current_task():
                thread.gap_task = None

    def _receive_update(self, message: MessagePublic) -> None:
        """An edit or retraction; an update to a message not received yet comes with it."""
        thread = self.threads.get(message.conversation_id)
        if thread is None or thread.state is not LoadState.loaded:
            return
        if message.seq > thread.last_seq:
            if message.seq in thread.buffer:
                thread.buffer[message.seq] = message
            return
        if message.change > thread.last_change + 1:
            self._spawn(self.resync(thread.conversation_id))  # an earlier change went missing
        else:
            thread.last_change = max(thread.last_change, message.change)
        self._replace(message)

    def _replace(self, message: MessagePublic) -> None:
        thread = self.threads.get(message.conversation_id)
        if thread is None:
            return
        if message.seq in thread.messages:
            thread.messages[message.seq] = message
        elif message.seq in thread.buffer:
            thread.buffer[message.seq] = message

    def _apply_resync(self, answer: ConversationResync) -> None:
        thread = self.threads.get(answer.conversation_id)
        if thread is None or thread.state is not LoadState.loaded:
            return
        for message in answer.messages:
            self._note_in_summary(message)
            if message.seq > thread.last_seq:
                thread.buffer[message.seq] = message
        for message in answer.changed:
            self._replace(message)
        self._drain(thread)
        if not answer.has_more:
            thread.last_change = max(thread.last_change, answer.last_change)
            if thread.buffer and min(thread.buffer) > thread.last_seq + 1:
                # The server says nothing exists between: the hole is real (never expected
                # with dense seqs); skip it rather than wait forever.
                log.warning("seq hole after %s confirmed by resync", thread.last_seq)
                thread.last_seq = min(thread.buffer) - 1
                self._drain(thread)

    async def _deliver(self, pending: PendingMessage) -> bool:
        """POST one pending message; True when the server answered (stored or refused)."""
        if pending.sending or pending.confirmed:
            return True
        pending.sending = True
        generation = self._generation
        body = MessageCreate(
            client_id=pending.client_id,
            body=pending.body,
            attachment_id=pending.attachment.id if pending.attachment else None,
        )
        try:
            message = await self._api.send_message(str(pending.conversation_id), body)
        except ApiError as exc:
            pending.sending = False
            if generation != self._generation:
                return False
            if exc.status == 0 or exc.status >= 500:
                self._notify()
                return False  # offline or the server is struggling: stays pending
            if exc.code != "session_ended":
                pending.error = exc.message
            self._notify()
            return True
        if generation != self._generation:
            return False
        self._receive(message)
        self._notify()
        return True

    def _spawn(self, coroutine: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coroutine)
        except RuntimeError:
            coroutine.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def message_text(message: MessagePublic) -> str:
    """What a message says, as shown: a retracted one says so instead of its old text."""
    if message.state is MessageState.retracted:
        return RETRACTED_TEXT
    return message.body or ""

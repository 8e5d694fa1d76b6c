"""This process's live sockets, and the events that reach them.

Every change a socket must hear about is published as an event on the bus (see `bus.py`), and
every process (this one included) applies it to its own sockets:

- `deliver`: a pre-serialized frame for listed users about one conversation. A socket gets it
  only while that conversation is in its set, which membership events keep current, so a
  removed member stops receiving at once, on every process.
- `member`: someone was added to or removed from a conversation.
- `revoke`: sessions were signed out; their sockets close with 4403.
- `user`: a pre-serialized frame for every socket of the listed users, whatever conversations
  they are in (a new entry in their notification center).

A socket whose outgoing queue overflows (a client that stopped reading) is closed with 4008 and
catches up by resync when it reconnects, instead of holding the server's memory.
"""

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from backend.realtime.bus import Bus, LocalBus, RedisBus
from backend.realtime.presence import Presence
from backend.realtime.ratelimit import TokenBucket

log = logging.getLogger(__name__)

QUEUE_LIMIT = 2000
CLOSE_TOKEN = 4401
CLOSE_SIGNED_OUT = 4403
CLOSE_SLOW = 4008


@dataclass(eq=False)
class Connection:
    """One authenticated socket. The writer task drains `queue` into the socket."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    conversations: set[uuid.UUID]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    queue: asyncio.Queue[str | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT)
    )
    close_code: int | None = None
    close_reason: str = ""
    delivered: dict[uuid.UUID, list[int]] = field(default_factory=dict)
    """Per conversation, the lowest and highest seq delivered live: audited as one read."""

    def push(self, text: str) -> None:
        if self.close_code is not None:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.close(CLOSE_SLOW, "Too far behind; reconnect and resync.")

    def close(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            # The writer stops at the sentinel; make room for it if the queue is full.
            while True:
                try:
                    self.queue.put_nowait(None)
                    return
                except asyncio.QueueFull:
                    self.queue.get_nowait()

    def note_delivered(self, conversation_id: uuid.UUID, seq: int) -> None:
        span = self.delivered.get(conversation_id)
        if span is None:
            self.delivered[conversation_id] = [seq, seq]
        else:
            span[0], span[1] = min(span[0], seq), max(span[1], seq)


class Hub:
    def __init__(self) -> None:
        self._bus: Bus = LocalBus()
        self.presence = Presence()
        self._by_user: dict[uuid.UUID, set[Connection]] = defaultdict(set)
        self._buckets: dict[uuid.UUID, TokenBucket] = {}
        self._started = False

    def send_bucket(self, user_id: uuid.UUID, rate: float, burst: int) -> TokenBucket:
        """The user's send allowance in this process, shared by all their sockets here."""
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = TokenBucket(rate, burst)
        return bucket

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, redis: Redis | None) -> None:
        """Use Redis for fan-out and presence when configured; in-process otherwise."""
        if self._started:
            return
        self._bus = RedisBus(redis) if redis is not None else LocalBus()
        self.presence.use_redis(redis)
        await self._bus.start(self._on_event)
        self._started = True

    async def stop(self) -> None:
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.close(1001, "Server shutting down; reconnect shortly.")
        await self._bus.stop()
        self._bus = LocalBus()
        self.presence.use_redis(None)
        self._started = False

    async def ensure_started(self) -> None:
        if not self._started:
            await self.start(None)

    # -- sockets ------------------------------------------------------------------------------

    async def register(self, connection: Connection) -> None:
        await self.ensure_started()
        self._by_user[connection.user_id].add(connection)
        await self.presence.connected(connection.user_id, connection.id)

    async def unregister(self, connection: Connection) -> None:
        connections = self._by_user.get(connection.user_id)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._by_user[connection.user_id]
                self._buckets.pop(connection.user_id, None)
        await self.presence.disconnected(connection.user_id, connection.id)

    def local_connections(self) -> int:
        return sum(len(c) for c in self._by_user.values())

    # -- publishing ---------------------------------------------------------------------------

    async def deliver(
        self,
        conversation_id: uuid.UUID,
        recipients: Iterable[uuid.UUID],
        frame: str,
        *,
        seq: int | None = None,
        skip_connection: str | None = None,
    ) -> None:
        event: dict[str, Any] = {
            "t": "deliver",
            "c": str(conversation_id),
            "to": [str(u) for u in recipients],
            "f": frame,
        }
        if seq is not None:
            event["seq"] = seq
        if skip_connection is not None:
            event["x"] = skip_connection
        await self._publish(event)

    async def to_users(self, recipients: Iterable[uuid.UUID], frame: str) -> None:
        """Deliver `frame` to all sockets of these users, on every process."""
        await self._publish({"t": "user", "to": [str(u) for u in recipients], "f": frame})

    async def membership(
        self, conversation_id: uuid.UUID, user_id: uuid.UUID, *, added: bool
    ) -> None:
        await self._publish(
            {"t": "member", "c": str(conversation_id), "u": str(user_id), "added": added}
        )

    async def revoke(self, user_id: uuid.UUID, session_ids: Iterable[uuid.UUID] | None) -> None:
        sessions = None if session_ids is None else [str(s) for s in session_ids]
        await self._publish({"t": "revoke", "u": str(user_id), "s": sessions})

    async def _publish(self, event: dict[str, Any]) -> None:
        await self.ensure_started()
        await self._bus.publish(event)

    # -- applying events ----------------------------------------------------------------------

    async def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("t")
        if kind == "deliver":
            self._apply_deliver(event)
        elif kind == "member":
            self._apply_member(event)
        elif kind == "revoke":
            self._apply_revoke(event)
        elif kind == "user":
            self._apply_user(event)

    def _apply_deliver(self, event: dict[str, Any]) -> None:
        conversation_id = uuid.UUID(event["c"])
        frame: str = event["f"]
        seq: int | None = event.get("seq")
        skip = event.get("x")
        for user in event["to"]:
            for connection in self._by_user.get(uuid.UUID(user), ()):
                if connection.id == skip or conversation_id not in connection.conversations:
                    continue
                connection.push(frame)
                if seq is not None:
                    connection.note_delivered(conversation_id, seq)

    def _apply_user(self, event: dict[str, Any]) -> None:
        frame: str = event["f"]
        for user in event["to"]:
            for connection in self._by_user.get(uuid.UUID(user), ()):
                connection.push(frame)

    def _apply_member(self, event: dict[str, Any]) -> None:
        conversation_id = uuid.UUID(event["c"])
        for connection in self._by_user.get(uuid.UUID(event["u"]), ()):
            if event["added"]:
                connection.conversations.add(conversation_id)
            else:
                connection.conversations.discard(conversation_id)

    def _apply_revoke(self, event: dict[str, Any]) -> None:
        sessions = event.get("s")
        wanted = None if sessions is None else {uuid.UUID(s) for s in sessions}
        for connection in list(self._by_user.get(uuid.UUID(event["u"]), ())):
            if wanted is None or connection.session_id in wanted:
                connection.close(CLOSE_SIGNED_OUT, "You were signed out. Sign in again.")

"""How events reach every backend process: Redis pub/sub when REDIS_URL is set, otherwise a
direct call within this process.

Events are small JSON objects (see `backend.realtime.hub`). With Redis, a process hears its own
events back through the channel too, so every process delivers in the order Redis hands them
out, whichever process published.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

CHANNEL = "carecircle:events"
Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Bus(Protocol):
    async def start(self, handler: Handler) -> None: ...
    async def publish(self, event: dict[str, Any]) -> None: ...
    async def stop(self) -> None: ...


class LocalBus:
    """One process: publishing is handing the event to this process's hub."""

    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def publish(self, event: dict[str, Any]) -> None:
        if self._handler is not None:
            await self._handler(event)

    async def stop(self) -> None:
        self._handler = None


class RedisBus:
    """Several processes: every event goes through one Redis channel.

    If the subscription drops (Redis restarted), it is re-established with back-off; events
    published meanwhile are not replayed by Redis, which is why clients resync from the
    database after any gap they see.
    """

    def __init__(self, redis: Redis, channel: str = CHANNEL) -> None:
        self._redis = redis
        self._channel = channel
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        self._task = asyncio.create_task(self._listen(handler), name="redis-bus")
        # Do not report ready before the subscription exists, or the first events are lost.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def publish(self, event: dict[str, Any]) -> None:
        await self._redis.publish(self._channel, json.dumps(event, separators=(",", ":")))

    async def _listen(self, handler: Handler) -> None:
        delay = 0.1
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._subscribed.set()
                    delay = 0.1
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            event = json.loads(message["data"])
                        except (ValueError, TypeError):
                            log.warning("ignored a malformed event on %s", self._channel)
                            continue
                        try:
                            await handler(event)
                        except Exception:
                            log.exception("event handler failed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis subscription lost (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

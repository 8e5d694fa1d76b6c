"""The one websocket client of the app: live messages, receipts and typing from /api/v1/ws.

The socket is a hint, the database is the truth (STYLE.md §5): whatever the socket loses, the
sink (the messages store) recovers by resync when the connection is ready again. This class
only keeps a connection alive and hands every frame to the sink. It guarantees that:

- the first frame is `auth` with a fresh access token, and a new `auth` goes out after every
  token refresh, so the server never closes an open socket for an expired token;
- close code 4401 (token invalid or expired) refreshes the token and reconnects at once; 4403
  (signed out) ends the session through the API client, as a rejected refresh would;
- any other loss reconnects with a bounded, jittered back-off, and a ping frame every 20 s
  notices a silent connection (a sleeping laptop, a dropped Wi-Fi) within two beats;
- tokens never reach a log line.

It is a plain asyncio class: the app runs `run()` as a `page.run_task` task and cancels it on
sign-out; tests call `start()` and `stop()`.
"""

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from mobile_app.api.client import ApiClient, ApiError
from shared.schemas.messaging import ClientFrameType, ReadyFrame, ServerFrameType

log = logging.getLogger("carecircle.client.realtime")

HEARTBEAT_SECONDS = 20.0
"""How often a ping frame goes out; two beats without any frame means the socket is dead."""
OPEN_TIMEOUT_SECONDS = 10.0
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0

CLOSE_TOKEN_INVALID = 4401
CLOSE_SIGNED_OUT = 4403


class ConnectionState(StrEnum):
    offline = "offline"
    connecting = "connecting"
    online = "online"


class RealtimeSink(Protocol):
    """What the websocket feeds: the messages store."""

    async def on_ready(self, ready: ReadyFrame) -> None:
        """The socket is authenticated: resync what was missed, then send what waited."""

    def on_frame(self, frame: dict[str, Any]) -> None:
        """One server frame (anything but `ready` and `pong`)."""

    def on_connection(self, state: ConnectionState) -> None:
        """The connection went offline, is connecting, or is online."""


def websocket_url(api_url: str) -> str:
    """http://host:port -> ws://host:port/api/v1/ws (https -> wss)."""
    base = api_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return f"{base}/api/v1/ws"


def backoff_delay(attempt: int, *, first: float, maximum: float) -> float:
    """Doubling from `first`, never above `maximum`, with jitter so a clinic's tablets do not
    all reconnect in the same instant after a server restart."""
    ceiling = min(maximum, first * (2 ** min(attempt, 16)))
    return ceiling * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not security)


Connector = Callable[..., Any]


class RealtimeClient:
    def __init__(
        self,
        api: ApiClient,
        sink: RealtimeSink,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        backoff_first: float = BACKOFF_FIRST_SECONDS,
        backoff_max: float = BACKOFF_MAX_SECONDS,
        connector: Connector = connect,
    ) -> None:
        self._api = api
        self._sink = sink
        self._url = websocket_url(api.api_url)
        self._heartbeat_seconds = heartbeat_seconds
        self._backoff_first = backoff_first
        self._backoff_max = backoff_max
        self._connector = connector
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_frame_at = 0.0
        self.state = ConnectionState.offline
        self.connections = 0
        """How many times the socket became ready; tests use it to wait for a reconnect."""
        self._unsubscribe_tokens = api.on_tokens_rotated(self._on_tokens_rotated)
        self._listeners: list[Callable[[dict[str, Any]], None]] = []

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Another store that wants every frame besides the sink (e.g. notifications)."""
        self._listeners.append(listener)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run the connection loop as a task of the running event loop (idempotent)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        """Close the socket and stop reconnecting (the connection loop ends)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_state(ConnectionState.offline)

    async def close(self) -> None:
        """Stop for good: also stop listening for token refreshes."""
        await self.stop()
        self._unsubscribe_tokens()

    async def run(self) -> None:
        """Connect, listen, reconnect; returns only when the session is over."""
        attempt = 0
        try:
            while self._api.has_session:
                connections = self.connections
                code = await self._connect_once()
                if self.connections > connections:
                    attempt = 0  # it was up: the next loss starts the back-off afresh
                if code == CLOSE_SIGNED_OUT:
                    log.info("websocket closed: signed out")
                    self._api.end_session_from_server()
                    return
                if code == CLOSE_TOKEN_INVALID:
                    log.info("websocket closed: token no longer valid; refreshing")
                    try:
                        await self._api.refresh()
                    except ApiError as exc:
                        if exc.code == "session_ended":
                            return
                    else:
                        attempt = 0
                        continue
                self._set_state(ConnectionState.offline)
                delay = backoff_delay(attempt, first=self._backoff_first, maximum=self._backoff_max)
                attempt += 1
                await asyncio.sleep(delay)
        finally:
            self._ws = None
            self._set_state(ConnectionState.offline)

    # -- sending ----------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self.state is ConnectionState.online and self._ws is not None

    async def send(self, frame: dict[str, Any]) -> bool:
        """Send one frame if the socket is ready; False when it is not (the caller decides
        whether the frame matters: a typing hint does not, a message goes through REST)."""
        ws = self._ws
        if ws is None or self.state is not ConnectionState.online:
            return False
        try:
            await ws.send(json.dumps(frame, default=str))
        except ConnectionClosed:
            return False
        return True

    # -- internals --------------------------------------------------------------------------

    async def _connect_once(self) -> int | None:
        """One connection from open to close; returns the close code when there is one."""
        self._set_state(ConnectionState.connecting)
        try:
            token = await self._api.fresh_access_token()
        except ApiError:
            return None  # offline, or the session ended (then `run` stops)
        try:
            async with self._connector(
                self._url, open_timeout=OPEN_TIMEOUT_SECONDS, max_size=4 * 1024 * 1024
            ) as ws:
                await ws.send(json.dumps({"type": ClientFrameType.auth, "token": token}))
                first = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT_SECONDS))
                ready = ReadyFrame.model_validate(first)
                await self._listen(ws, ready)
                return ws.close_code
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            if code in (CLOSE_TOKEN_INVALID, CLOSE_SIGNED_OUT):
                return code
            log.info("websocket lost (%s)", code)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            log.info("websocket connect failed: %s", type(exc).__name__)
        except (ValueError, ValidationError):
            log.warning("websocket answered auth with an unexpected frame")
        finally:
            self._ws = None
        return None

    async def _listen(self, ws: ClientConnection, ready: ReadyFrame) -> None:
        loop = asyncio.get_running_loop()
        self._ws = ws
        self._last_frame_at = loop.time()
        self.connections += 1
        self._set_state(ConnectionState.online)
        log.info("websocket ready")
        sync = loop.create_task(self._sink_ready(ready))
        heartbeat = loop.create_task(self._heartbeat(ws))
        try:
            async for raw in ws:
                self._last_frame_at = loop.time()
                self._dispatch(raw)
        finally:
            for task in (sync, heartbeat):
                task.cancel()
            self._ws = None

    async def _sink_ready(self, ready: ReadyFrame) -> None:
        try:
            await self._sink.on_ready(ready)
        except ApiError as exc:
            log.info("resync after connect failed (%s)", exc.code)
        except Exception:
            log.exception("resync after connect failed")

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("websocket frame is not JSON; ignored")
            return
        if not isinstance(frame, dict):
            return
        kind = frame.get("type")
        if kind in (ServerFrameType.pong, ServerFrameType.ready):
            return
        for apply in (self._sink.on_frame, *self._listeners):
            try:
                apply(frame)
            except Exception:
                log.exception("websocket frame %s could not be applied", kind)

    async def _heartbeat(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            if loop.time() - self._last_frame_at > 2 * self._heartbeat_seconds + 5:
                log.info("websocket silent for two heartbeats; reconnecting")
                await ws.close()
                return
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps({"type": ClientFrameType.ping}))

    def _on_tokens_rotated(self) -> None:
        """Re-authenticate the open socket with the new token before the old one expires."""
        if self._ws is None:
            return
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self._reauth())

    async def _reauth(self) -> None:
        tokens = self._api.tokens
        if tokens is None:
            return
        await self.send({"type": ClientFrameType.auth, "token": tokens.access_token})

    def _set_state(self, state: ConnectionState) -> None:
        if state is self.state:
            return
        self.state = state
        try:
            self._sink.on_connection(state)
        except Exception:
            log.exception("connection state listener failed")

"""A fake APNs: HTTP/2 over TLS on 127.0.0.1 (the `h2` package), in a thread of its own.

It checks what Apple checks and a test cares about: the ES256 provider token (kid, iss, iat,
signature), the topic, the push type and the priority. Each request is recorded; the answer can
be scripted per token (`unregistered`, `bad_tokens`) or for the next N requests (`fail_next`).
A failed check is answered the way Apple would (403 InvalidProviderToken, 400 BadTopic...) and
kept in `problems`, which tests assert is empty.
"""

import asyncio
import json
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import jwt
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded
from h2.exceptions import ProtocolError

from tests.fakes.credentials import APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC, TLSFiles


@dataclass
class APNsRequest:
    token: str
    headers: dict[str, str]
    payload: dict[str, Any]
    claims: dict[str, Any]
    received_at: float
    status: int = 200
    raw: bytes = b""


@dataclass
class _Scripted:
    status: int
    reason: str


@dataclass
class FakeAPNs:
    tls: TLSFiles
    public_key_pem: bytes
    topic: str = APNS_TOPIC
    delay: float = 0.0
    """Seconds to wait before answering each request (a slow provider)."""
    requests: list[APNsRequest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unregistered: set[str] = field(default_factory=set)
    bad_tokens: set[str] = field(default_factory=set)
    port: int = 0

    def __post_init__(self) -> None:
        self._script: deque[_Scripted] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def fail_next(self, count: int, status: int = 503, reason: str = "ServiceUnavailable"):
        with self._lock:
            self._script.extend(_Scripted(status, reason) for _ in range(count))

    def delivered(self) -> list[APNsRequest]:
        return [r for r in self.requests if r.status == 200]

    def start(self) -> "FakeAPNs":
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
            context.set_alpn_protocols(["h2"])
            self._server = loop.run_until_complete(
                loop.create_server(lambda: _H2Server(self), "127.0.0.1", 0, ssl=context)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-apns", daemon=True)
        self._thread.start()
        assert ready.wait(10), "fake APNs did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    # -- answering ----------------------------------------------------------------------------

    def _check(self, headers: dict[str, str]) -> tuple[dict[str, Any], _Scripted | None]:
        auth = headers.get("authorization", "")
        if not auth.startswith("bearer "):
            return {}, _Scripted(403, "MissingProviderToken")
        token = auth.removeprefix("bearer ")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                self.public_key_pem,
                algorithms=["ES256"],
                options={"require": ["iss", "iat"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            self.problems.append(f"bad provider token: {exc}")
            return {}, _Scripted(403, "InvalidProviderToken")
        if header.get("kid") != APNS_KEY_ID or header.get("alg") != "ES256":
            self.problems.append(f"wrong JWT header {header}")
            return claims, _Scripted(403, "InvalidProviderToken")
        if claims.get("iss") != APNS_TEAM_ID:
            self.problems.append(f"wrong iss {claims.get('iss')}")
            return claims, _Scripted(403, "InvalidProviderToken")
        if abs(time.time() - float(claims["iat"])) > 3600:
            self.problems.append("iat older than an hour")
            return claims, _Scripted(403, "ExpiredProviderToken")
        if headers.get("apns-topic") != self.topic:
            self.problems.append(f"wrong topic {headers.get('apns-topic')}")
            return claims, _Scripted(400, "BadTopic")
        if headers.get("apns-push-type") != "alert":
            self.problems.append(f"wrong push type {headers.get('apns-push-type')}")
            return claims, _Scripted(400, "InvalidPushType")
        if headers.get("apns-priority") not in ("5", "10"):
            self.problems.append(f"wrong priority {headers.get('apns-priority')}")
            return claims, _Scripted(400, "BadPriority")
        if headers.get(":method") != "POST":
            return claims, _Scripted(405, "MethodNotAllowed")
        return claims, None

    async def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        token = headers.get(":path", "").removeprefix("/3/device/")
        claims, refusal = self._check(headers)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload, refusal = {}, refusal or _Scripted(400, "PayloadEmpty")
        if refusal is None:
            with self._lock:
                scripted = self._script.popleft() if self._script else None
            if scripted is not None:
                refusal = scripted
            elif token in self.unregistered:
                refusal = _Scripted(410, "Unregistered")
            elif token in self.bad_tokens:
                refusal = _Scripted(400, "BadDeviceToken")
        status = refusal.status if refusal else 200
        self.requests.append(
            APNsRequest(
                token=token,
                headers=headers,
                payload=payload,
                claims=claims,
                received_at=time.time(),
                status=status,
                raw=body,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return status, refusal.reason if refusal else ""


class _H2Server(asyncio.Protocol):
    def __init__(self, fake: FakeAPNs) -> None:
        self.fake = fake
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self.transport: asyncio.Transport | None = None
        self.pending: set[asyncio.Task] = set()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except ProtocolError as exc:
            self.fake.problems.append(f"HTTP/2 protocol error: {exc}")
            self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = (dict(event.headers), bytearray())
            elif isinstance(event, DataReceived):
                self.streams[event.stream_id][1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                headers, body = self.streams.pop(event.stream_id)
                task = asyncio.ensure_future(self._respond(event.stream_id, headers, bytes(body)))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)
            elif isinstance(event, ConnectionTerminated):
                self.transport.close()
        self.transport.write(self.conn.data_to_send())

    async def _respond(self, stream_id: int, headers: dict[str, str], body: bytes) -> None:
        status, reason = await self.fake.answer(headers, body)
        if self.transport is None or self.transport.is_closing():
            return
        response = [(":status", str(status)), ("apns-id", headers.get("apns-id", ""))]
        try:
            if status == 200:
                self.conn.send_headers(stream_id, response, end_stream=True)
            else:
                data = json.dumps({"reason": reason}).encode()
                response.append(("content-type", "application/json"))
                self.conn.send_headers(stream_id, response)
                self.conn.send_data(stream_id, data, end_stream=True)
        except ProtocolError:
            return
        self.transport.write(self.conn.data_to_send())

    def connection_lost(self, exc) -> None:
        self.transport = None

"""The messaging websocket, with real websocket clients over loopback against the app served by
a real uvicorn in this test's event loop, on SQLite and PostgreSQL, with the in-process bus and
with Redis pub/sub. (Two separate server processes are in test_multiprocess.py.)"""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from jose import jwt
from redis.asyncio import Redis
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from backend.core.config import Settings
from backend.core.db import Database
from backend.core.security import JWT_ALGORITHM, JWT_ISSUER
from backend.identity.models import AuthSession
from backend.messaging.models import Message
from backend.notifications.models import PushJob
from tests import factories as f
from tests.backend.access_helpers import headers_for
from tests.backend.scenario import World, build_world
from tests.live_server import free_port
from tests.services import REDIS_URL, require_redis

FRAME_TIMEOUT = 5.0


@pytest.fixture(params=["local", "redis"])
def bus(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        require_redis()
    return request.param


@pytest.fixture
async def server(app: FastAPI, settings: Settings, bus: str) -> AsyncIterator[str]:
    """The test's app on a free 127.0.0.1 port; yields the base http URL."""
    redis = Redis.from_url(REDIS_URL) if bus == "redis" else None
    await app.state.hub.stop()
    await app.state.hub.start(redis)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        await app.state.hub.stop()
        if redis is not None:
            await redis.aclose()


@pytest.fixture
async def world(db: Database) -> World:
    world = await build_world(db)
    await f.sync_conversations(db, world.patient)
    return world


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{server}/api/v1", timeout=10) as client:
        yield client


class Socket:
    """A websocket client that keeps every frame it receives, for assertions."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def expect(self, kind: str, timeout: float = FRAME_TIMEOUT, **match: Any) -> dict:
        """The next frame of this type (matching `match`), skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind} frame {match} within {timeout} s: {self.frames}")
            frame = json.loads(await asyncio.wait_for(self.connection.recv(), remaining))
            self.frames.append(frame)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def quiet(self, seconds: float = 0.5) -> list[dict]:
        """Frames that arrive within `seconds` (to show something did not arrive)."""
        got = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                got.append(json.loads(await asyncio.wait_for(self.connection.recv(), remaining)))
            except TimeoutError:
                break
        return got

    async def closed(self, timeout: float = FRAME_TIMEOUT) -> int:
        """Wait for the server to close; the close code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                await asyncio.wait_for(self.connection.recv(), deadline - time.monotonic())
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code
        raise AssertionError("the socket stayed open")


Opener = Callable[..., Awaitable[Socket]]


@pytest.fixture
async def open_socket(server: str, db: Database, settings: Settings) -> AsyncIterator[Opener]:
    sockets: list[ClientConnection] = []

    async def opener(user=None, *, token: str | None = None, auth: bool = True) -> Socket:
        if token is None and user is not None:
            token = (await headers_for(db, settings, user))["Authorization"].split()[1]
        connection = await connect(server.replace("http", "ws") + "/api/v1/ws", open_timeout=5)
        sockets.append(connection)
        socket = Socket(connection)
        if auth:
            await socket.send({"type": "auth", "token": token})
            await socket.expect("ready")
        return socket

    yield opener
    for connection in sockets:
        await connection.close()


async def thread_id(http: httpx.AsyncClient, world: World, headers: dict) -> str:
    response = await http.get(f"/patients/{world.patient.id}/care-team-thread", headers=headers)
    return response.json()["id"]


def send_frame(cid: str, body: str, client_id: str | None = None) -> dict:
    return {
        "type": "send",
        "conversation_id": cid,
        "client_id": client_id or f"ws-{uuid.uuid4().hex[:12]}",
        "body": body,
    }


async def stored(db: Database) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(Message)) or 0


# --- delivery --------------------------------------------------------------------------------


async def test_messages_reach_other_members_live_in_order_and_the_sender_gets_acks(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    navigator = await open_socket(world.navigator)
    patient = await open_socket(world.patient_user)
    family = await open_socket(world.family_full)
    cid = await thread_id(http, world, await headers_for(db, settings, world.patient_user))
    for n in range(20):
        await navigator.send(send_frame(cid, f"note {n}", client_id=f"ordered-{n:03d}"))
    acks = [await navigator.expect("ack") for _ in range(20)]
    assert [a["message"]["seq"] for a in acks] == list(range(1, 21))
    assert [a["client_id"] for a in acks] == [f"ordered-{n:03d}" for n in range(20)]
    for listener in (patient, family):
        received = [(await listener.expect("message.created"))["message"] for _ in range(20)]
        assert [m["seq"] for m in received] == list(range(1, 21))
        assert [m["body"] for m in received] == [f"note {n}" for n in range(20)]
        assert {m["sender_name"] for m in received} == {"Nate Navigator"}
    # The sender's own socket gets the ack, not a second copy of the message.
    assert not [f for f in await navigator.quiet(0.3) if f["type"] == "message.created"]


async def test_a_retried_send_is_acknowledged_again_but_delivered_and_stored_once(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    navigator = await open_socket(world.navigator)
    patient = await open_socket(world.patient_user)
    cid = await thread_id(http, world, await headers_for(db, settings, world.navigator))
    frame = send_frame(cid, "Your ride is booked for 9:30", client_id="retry-once-1")
    await navigator.send(frame)
    first = await navigator.expect("ack")
    await navigator.send(frame)
    second = await navigator.expect("ack")
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert first["message"]["id"] == second["message"]["id"]
    await patient.expect("message.created")
    assert not [f for f in await patient.quiet(0.5) if f["type"] == "message.created"]
    assert await stored(db) == 1


async def test_reconnect_resync_fills_the_gap_with_no_duplicates(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    nav_headers = await headers_for(db, settings, world.navigator)
    cid = await thread_id(http, world, nav_headers)
    patient = await open_socket(world.patient_user)
    for n in range(3):
        await http.post(
            f"/conversations/{cid}/messages",
            json={"client_id": f"before-gap-{n}", "body": f"b{n}"},
            headers=nav_headers,
        )
    seen = [(await patient.expect("message.created"))["message"]["seq"] for _ in range(3)]
    await patient.connection.close()
    for n in range(4):  # while the patient is away
        await http.post(
            f"/conversations/{cid}/messages",
            json={"client_id": f"in-the-gap-{n}", "body": f"g{n}"},
            headers=nav_headers,
        )
    again = await open_socket(world.patient_user)
    await again.send({"type": "resync", "cursors": {cid: {"seq": max(seen), "change": 0}}})
    resync = await again.expect("resync", conversation_id=cid)
    await again.expect("resync.done")
    assert [m["seq"] for m in resync["messages"]] == [4, 5, 6, 7]
    assert [m["body"] for m in resync["messages"]] == ["g0", "g1", "g2", "g3"]
    assert resync["last_seq"] == 7 and resync["has_more"] is False


async def test_receipts_and_typing_reach_the_other_members(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    navigator = await open_socket(world.navigator)
    patient = await open_socket(world.patient_user)
    cid = await thread_id(http, world, await headers_for(db, settings, world.navigator))
    await navigator.send(send_frame(cid, "How are you feeling?"))
    await patient.expect("message.created")
    await patient.send({"type": "read", "conversation_id": cid, "seq": 1})
    receipt = await navigator.expect("receipt")
    assert (receipt["full_name"], receipt["read_seq"]) == ("Rosa Patient", 1)

    await patient.send({"type": "typing", "conversation_id": cid})
    typing = await navigator.expect("typing")
    assert typing["full_name"] == "Rosa Patient"
    await patient.send({"type": "typing", "conversation_id": cid})  # throttled: not repeated
    assert not [f for f in await navigator.quiet(0.5) if f["type"] == "typing"]
    assert not [f for f in patient.frames if f["type"] == "typing"]  # never echoed back


async def test_members_with_a_live_socket_get_no_push_job(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    await open_socket(world.navigator)
    patient = await open_socket(world.patient_user)
    cid = await thread_id(http, world, await headers_for(db, settings, world.patient_user))
    await patient.send(send_frame(cid, "Feeling dizzy after the new pill"))
    await patient.expect("ack")
    async with db.session() as session:
        users = set((await session.scalars(select(PushJob.user_id))).all())
    assert users == {world.care_manager.id, world.clinician.id, world.family_full.id}


# --- refusals --------------------------------------------------------------------------------


async def test_non_members_are_refused_and_their_socket_survives(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    cid = await thread_id(http, world, await headers_for(db, settings, world.navigator))
    patient = await open_socket(world.patient_user)
    for outsider in (world.other_staff, world.family_limited):
        socket = await open_socket(outsider)
        await socket.send(send_frame(cid, "let me in", client_id="outsider-1"))
        error = await socket.expect("error")
        assert error["code"] == "not_found" and error["client_id"] == "outsider-1"
        await socket.send({"type": "resync", "cursors": {cid: {"seq": 0}}})
        assert (await socket.expect("error"))["code"] == "not_found"
        await socket.send({"type": "typing", "conversation_id": cid})
        assert (await socket.expect("error"))["code"] == "not_member"
        await socket.send({"type": "ping"})
        await socket.expect("pong")
    assert not [f for f in await patient.quiet(0.3) if f["type"] in ("message.created", "typing")]
    assert await stored(db) == 0


async def test_a_removed_member_stops_receiving_at_once(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    nav_headers = await headers_for(db, settings, world.navigator)
    created = await http.post(
        "/conversations",
        json={
            "patient_id": str(world.patient.id),
            "kind": "group",
            "subject": "Wound photos",
            "member_ids": [str(world.patient_user.id), str(world.care_manager.id)],
        },
        headers=nav_headers,
    )
    cid = created.json()["id"]
    manager = await open_socket(world.care_manager)
    patient = await open_socket(world.patient_user)
    await manager.send(send_frame(cid, "I'll look at the photos"))  # its access is now cached
    await manager.expect("ack")
    removed = await http.delete(
        f"/conversations/{cid}/members/{world.care_manager.id}", headers=nav_headers
    )
    assert removed.status_code == 204
    note = await manager.expect("membership", conversation_id=cid)
    assert note["change"] == "removed"
    await http.post(
        f"/conversations/{cid}/messages",
        json={"client_id": "after-removal", "body": "new photo attached"},
        headers=nav_headers,
    )
    first = await patient.expect("message.created")
    assert first["message"]["body"] == "I'll look at the photos"
    after = await patient.expect("message.created")
    assert after["message"]["body"] == "new photo attached"
    assert not [f for f in await manager.quiet(0.5) if f["type"] == "message.created"]
    await manager.send(send_frame(cid, "still here?"))
    assert (await manager.expect("error"))["code"] == "forbidden"


async def test_signing_out_closes_the_socket(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    headers = await headers_for(db, settings, world.patient_user)
    socket = await open_socket(token=headers["Authorization"].split()[1])
    other_device = await open_socket(world.patient_user)
    assert (await http.post("/auth/logout", headers=headers)).status_code == 204
    assert await socket.closed() == 4403
    await other_device.send({"type": "ping"})  # another device's session is untouched
    await other_device.expect("pong")


async def test_an_expired_token_closes_the_socket_unless_renewed(
    open_socket: Opener, world: World, db: Database, settings: Settings
) -> None:
    async with db.session() as session:
        auth_session = AuthSession(user_id=world.patient_user.id)
        session.add(auth_session)
        await session.commit()

    def token(seconds: int) -> str:
        now = int(time.time())
        claims = {
            "iss": JWT_ISSUER,
            "sub": str(world.patient_user.id),
            "sid": str(auth_session.id),
            "role": "patient",
            "typ": "access",
            "iat": now,
            "exp": now + seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, settings.secret_key, algorithm=JWT_ALGORITHM)

    short = await open_socket(token=token(2))
    assert await short.closed(timeout=8) == 4401

    renewed = await open_socket(token=token(2))
    await renewed.send({"type": "auth", "token": token(600)})
    await asyncio.sleep(3)
    await renewed.send({"type": "ping"})
    await renewed.expect("pong")

    stranger = await open_socket(token=token(-5), auth=False)
    await stranger.send({"type": "auth", "token": token(-5)})
    assert await stranger.closed() == 4401
    silent = await open_socket(auth=False)
    await silent.send({"type": "ping"})  # anything but auth first
    assert await silent.closed() == 4401


async def test_malformed_frames_get_an_error_and_the_socket_survives(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    cid = await thread_id(http, world, await headers_for(db, settings, world.patient_user))
    socket = await open_socket(world.patient_user)
    cases: list[tuple[Any, str]] = [
        ("{not json", "bad_frame"),
        ({"type": "shout", "conversation_id": cid}, "bad_frame"),
        ({"no_type": True}, "bad_frame"),
        (
            {"type": "send", "conversation_id": "nope", "client_id": "abcdefgh", "body": "x"},
            "bad_frame",
        ),
        (send_frame(cid, "x" * 4001), "bad_frame"),
        (send_frame(cid, "   "), "empty_message"),
        ("x" * 70_000, "frame_too_large"),
    ]
    for frame, code in cases:
        await socket.send(frame)
        error = await socket.expect("error")
        assert error["code"] == code, (frame if isinstance(frame, dict) else frame[:20], error)
        assert error["message"]
    await socket.connection.send(b"\x00\x01binary")
    assert (await socket.expect("error"))["code"] == "bad_frame"
    await socket.send(send_frame(cid, "still works"))
    assert (await socket.expect("ack"))["message"]["seq"] == 1
    assert await stored(db) == 1


async def test_a_flood_is_rate_limited_with_a_clear_error(
    open_socket: Opener, http, world: World, db: Database, settings: Settings, app: FastAPI
) -> None:
    app.state.settings = settings.model_copy(update={"ws_send_rate": 1.0, "ws_send_burst": 3})
    cid = await thread_id(http, world, await headers_for(db, settings, world.patient_user))
    socket = await open_socket(world.patient_user)
    for n in range(8):
        await socket.send(send_frame(cid, f"flood {n}", client_id=f"flood-{n:04d}"))
    answers: list[dict] = []
    while len(answers) < 8:
        frame = json.loads(await asyncio.wait_for(socket.connection.recv(), FRAME_TIMEOUT))
        if frame["type"] in ("ack", "error"):
            answers.append(frame)
    acked = [a for a in answers if a["type"] == "ack"]
    limited = [a for a in answers if a["type"] == "error"]
    assert len(acked) == 3 and len(limited) == 5
    assert all(e["code"] == "rate_limited" and e["retry_after"] > 0 for e in limited)
    assert "not sent" in limited[0]["message"]
    assert await stored(db) == 3
    await asyncio.sleep(limited[-1]["retry_after"] + 0.1)
    await socket.send(send_frame(cid, "after waiting"))
    assert (await socket.expect("ack"))["message"]["seq"] == 4


async def test_live_deliveries_are_audited_as_one_read_per_conversation_and_range(
    open_socket: Opener, http, world: World, db: Database, settings: Settings
) -> None:
    from tests.backend.access_helpers import audit_entries

    patient = await open_socket(world.patient_user)
    navigator = await open_socket(world.navigator)
    cid = await thread_id(http, world, await headers_for(db, settings, world.navigator))
    for n in range(5):
        await navigator.send(send_frame(cid, f"live {n}"))
    for _ in range(5):
        await patient.expect("message.created")
    await patient.connection.close()
    deadline = time.monotonic() + FRAME_TIMEOUT
    reads: list = []
    while time.monotonic() < deadline and not reads:
        reads = await audit_entries(db, action="message.read", actor_id=world.patient_user.id)
        await asyncio.sleep(0.05)
    assert len(reads) == 1
    assert reads[0].detail == {"from_seq": 1, "to_seq": 5, "live": True}
    assert reads[0].patient_id == world.patient.id and reads[0].resource_id == cid

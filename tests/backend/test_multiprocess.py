"""Several real backend processes on 127.0.0.1, as a clinic runs them behind a load balancer.

- Fan-out: a message sent through one uvicorn process reaches a socket held by another, through
  Redis; without Redis it does not arrive live, but resync (the database) still has it.
- Crash: a server killed with SIGKILL mid-stream loses no acknowledged message, and a retried
  send of the one in flight is stored once.

Each test migrates and seeds its own database (a SQLite file, or a fresh PostgreSQL database)
and starts its own servers, so nothing here depends on another test's state.
"""

import asyncio
import json
import os
import signal
import statistics
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from backend.demo.data import DEMO_PASSWORD
from tests.live_server import prepare_database, start_api, stop_process
from tests.services import (
    REDIS_URL,
    create_postgres_database,
    drop_postgres_database,
    require_postgres,
    require_redis,
)

NAVIGATOR = "james.carter@riverside.example"
PATIENT = "robert.johnson@riverside.example"
FAN_OUT_MESSAGES = 50
ACKS_BEFORE_KILL = 30
# One sender sends many messages quickly; the per-user socket allowance is not under test here.
FAST_SENDER = {"WS_SEND_RATE": "1000", "WS_SEND_BURST": "1000"}
TEST_SECONDS = 60

pytestmark = pytest.mark.timeout(TEST_SECONDS + 30)


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database with the demo organization, of each kind, for this test alone."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        prepare_database(url)
        yield url
        return
    require_postgres()
    url = create_postgres_database()
    try:
        prepare_database(url)
        yield url
    finally:
        drop_postgres_database(url)


# --- servers -----------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen
    url: str

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/v1/ws"


@contextmanager
def _serving(database_url: str, count: int, env: dict[str, str | None]) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for _ in range(count):
            process, url = start_api(database_url, extra_env=env)
            servers.append(Server(process, url))
        yield servers
    finally:
        for server in servers:
            stop_process(server.process)


@asynccontextmanager
async def serving(
    database_url: str, count: int, env: dict[str, str | None]
) -> AsyncIterator[list[Server]]:
    """`count` uvicorn processes on the same database, started off the event loop."""
    manager = _serving(database_url, count, env)
    servers = await asyncio.to_thread(manager.__enter__)
    try:
        yield servers
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


# --- clients -----------------------------------------------------------------------------------


@dataclass
class Person:
    token: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_in(server: Server, email: str) -> Person:
    async with httpx.AsyncClient(base_url=server.api, timeout=30) as client:
        response = await client.post(
            "/auth/login", json={"email": email, "password": DEMO_PASSWORD}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    return Person(token=body["access_token"], user_id=body["user"]["id"])


async def care_team_thread(server: Server, patient: Person) -> dict[str, Any]:
    """The patient's care-team conversation, as the patient sees it."""
    async with httpx.AsyncClient(base_url=server.api, timeout=30) as client:
        me = (await client.get("/me", headers=patient.headers)).json()
        response = await client.get(
            f"/patients/{me['patient_id']}/care-team-thread", headers=patient.headers
        )
    assert response.status_code == 200, response.text
    return response.json()


@asynccontextmanager
async def socket(server: Server, person: Person) -> AsyncIterator[ClientConnection]:
    """An authenticated socket, returned once the server said `ready`."""
    async with connect(server.ws, open_timeout=10, close_timeout=2) as ws:
        await ws.send(json.dumps({"type": "auth", "token": person.token}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ready["type"] == "ready", ready
        yield ws


async def next_frame(ws: ClientConnection, wanted: set[str], timeout: float) -> dict[str, Any]:
    """The next frame of one of the `wanted` types; others are skipped."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] in wanted:
                return frame


async def message_created(ws: ClientConnection, conversation_id: str, count: int) -> list[dict]:
    """Collect `count` message.created frames for the conversation, then listen a little longer
    so a duplicate sent after them would be caught too."""
    frames: list[dict] = []
    while len(frames) < count:
        frame = await next_frame(ws, {"message.created"}, timeout=20)
        if frame["message"]["conversation_id"] == conversation_id:
            frames.append(frame)
    try:
        while True:
            frame = await next_frame(ws, {"message.created"}, timeout=0.5)
            if frame["message"]["conversation_id"] == conversation_id:
                frames.append(frame)
    except TimeoutError:
        pass
    return frames


async def resync(ws: ClientConnection, conversation_id: str, seq: int = 0) -> list[dict]:
    """Every message after `seq`, over the socket, across as many `resync` pages as it takes."""
    frame = {"type": "resync", "cursors": {conversation_id: {"seq": seq, "change": 0}}}
    await ws.send(json.dumps(frame))
    messages: list[dict] = []
    while True:
        frame = await next_frame(ws, {"resync", "resync.done", "error"}, timeout=20)
        assert frame["type"] != "error", frame
        if frame["type"] == "resync.done":
            return messages
        messages.extend(frame["messages"])


async def send_over_socket(
    ws: ClientConnection, conversation_id: str, client_id: str, body: str
) -> dict[str, Any]:
    await ws.send(
        json.dumps(
            {
                "type": "send",
                "conversation_id": conversation_id,
                "client_id": client_id,
                "body": body,
            }
        )
    )
    while True:
        frame = await next_frame(ws, {"ack", "error"}, timeout=20)
        if frame.get("client_id") == client_id:
            assert frame["type"] == "ack", frame
            return frame["message"]


# --- fan-out across processes ------------------------------------------------------------------


async def test_messages_sent_through_one_process_reach_a_socket_on_another(seeded_url: str):
    """Robert's socket is on process A; James sends 50 messages through process B, alternating
    REST and websocket. James sends one at a time (each waits for its 201 or ack), and B
    publishes each message to Redis after its commit and before answering, so the messages
    enter Redis in seq order and A hands them to the socket in that order: Robert must see
    every seq exactly once and strictly increasing, with no reordering allowed."""
    require_redis()
    async with asyncio.timeout(TEST_SECONDS):
        async with serving(seeded_url, 2, {"REDIS_URL": REDIS_URL, **FAST_SENDER}) as (a, b):
            robert = await sign_in(a, PATIENT)
            james = await sign_in(b, NAVIGATOR)
            thread = await care_team_thread(a, robert)
            conversation_id, first = thread["id"], thread["last_seq"] + 1
            async with (
                socket(a, robert) as robert_ws,
                socket(b, james) as james_ws,
                httpx.AsyncClient(base_url=b.api, timeout=30) as rest,
            ):
                listening = asyncio.create_task(
                    message_created(robert_ws, conversation_id, FAN_OUT_MESSAGES)
                )
                sent: dict[int, str] = {}
                for n in range(FAN_OUT_MESSAGES):
                    client_id, body = f"fanout-{n:03d}-{uuid.uuid4().hex[:8]}", f"Reading {n}"
                    if n % 2 == 0:
                        response = await rest.post(
                            f"/conversations/{conversation_id}/messages",
                            json={"client_id": client_id, "body": body},
                            headers=james.headers,
                        )
                        assert response.status_code == 201, response.text
                        message = response.json()
                    else:
                        message = await send_over_socket(james_ws, conversation_id, client_id, body)
                    sent[message["seq"]] = body
                frames = await listening

    assert sorted(sent) == list(range(first, first + FAN_OUT_MESSAGES))
    seqs = [frame["message"]["seq"] for frame in frames]
    assert len(seqs) == len(set(seqs)), f"duplicated deliveries: {seqs}"
    assert sorted(seqs) == sorted(sent), "lost deliveries"
    assert seqs == sorted(seqs), f"delivered out of seq order: {seqs}"
    for frame in frames:
        message = frame["message"]
        assert message["body"] == sent[message["seq"]]
        assert message["sender_id"] == james.user_id


async def test_without_redis_another_process_s_message_arrives_only_by_resync(seeded_url: str):
    """The control for the test above: with no REDIS_URL each process fans out only to its own
    sockets. A message sent on A reaches Robert's socket on A live; one sent on B does not, yet
    resync on A returns it, because the database is the truth and the socket only a hint."""
    async with asyncio.timeout(TEST_SECONDS):
        async with serving(seeded_url, 2, {"REDIS_URL": None}) as (a, b):
            robert = await sign_in(a, PATIENT)
            james = await sign_in(b, NAVIGATOR)
            thread = await care_team_thread(a, robert)
            conversation_id, before = thread["id"], thread["last_seq"]
            async with socket(a, robert) as robert_ws:
                seqs = {}
                for server, label in ((a, "on A"), (b, "on B")):
                    async with httpx.AsyncClient(base_url=server.api, timeout=30) as rest:
                        response = await rest.post(
                            f"/conversations/{conversation_id}/messages",
                            json={"client_id": f"local-{uuid.uuid4().hex}", "body": label},
                            headers=james.headers,
                        )
                    assert response.status_code == 201, response.text
                    seqs[label] = response.json()["seq"]
                    if label == "on A":
                        live = await next_frame(robert_ws, {"message.created"}, timeout=10)
                        assert live["message"]["seq"] == seqs[label]
                with pytest.raises(TimeoutError):
                    stray = await next_frame(robert_ws, {"message.created"}, timeout=1.5)
                    pytest.fail(f"a message from B arrived live without Redis: {stray}")
                missed = await resync(robert_ws, conversation_id, seq=seqs["on A"])

    assert seqs == {"on A": before + 1, "on B": before + 2}
    assert [(m["seq"], m["body"]) for m in missed] == [(before + 2, "on B")]


# --- a server killed mid-stream ----------------------------------------------------------------


async def test_acknowledged_messages_survive_a_server_killed_mid_stream(seeded_url: str):
    """James sends one message at a time, each after the previous ack. Right after the 30th
    ack he sends one more, and the server is killed with SIGKILL about 60% of a median round
    trip later, so that the kill lands around that message's commit: in some runs before it, in
    others after it (stored but never acknowledged), in others after the ack too. After a
    restart on the same database, resync from seq 0 must hold every acknowledged message under
    its seq, seqs 1..N without gaps or repeats, and the unacknowledged one at most once;
    re-sending it with the same client_id stores it once."""
    async with asyncio.timeout(TEST_SECONDS):
        async with serving(seeded_url, 1, FAST_SENDER) as (server,):
            james = await sign_in(server, NAVIGATOR)
            robert = await sign_in(server, PATIENT)
            conversation_id = (await care_team_thread(server, robert))["id"]
            acked: dict[str, int] = {}
            round_trips: list[float] = []
            async with socket(server, james) as ws:
                for n in range(ACKS_BEFORE_KILL):
                    client_id = f"crash-{n:03d}-{uuid.uuid4().hex[:8]}"
                    started = time.perf_counter()
                    message = await send_over_socket(ws, conversation_id, client_id, f"Step {n}")
                    round_trips.append(time.perf_counter() - started)
                    acked[client_id] = message["seq"]
                in_flight = f"crash-inflight-{uuid.uuid4().hex[:8]}"
                await ws.send(
                    json.dumps(
                        {
                            "type": "send",
                            "conversation_id": conversation_id,
                            "client_id": in_flight,
                            "body": "In flight",
                        }
                    )
                )
                # Kill about when the server commits it: sometimes before, sometimes after.
                await asyncio.sleep(0.6 * statistics.median(round_trips))
                os.kill(server.process.pid, signal.SIGKILL)
                await asyncio.to_thread(server.process.wait, 10)
                late_ack = False
                with pytest.raises(ConnectionClosed):
                    while True:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                        late_ack |= frame.get("client_id") == in_flight and frame["type"] == "ack"
            assert server.process.returncode == -signal.SIGKILL

        async with (
            serving(seeded_url, 1, FAST_SENDER) as (restarted,),
            socket(restarted, james) as ws,
        ):
            stored = await resync(ws, conversation_id)
            by_client = {m["client_id"]: m for m in stored}
            already_there = in_flight in by_client
            async with httpx.AsyncClient(base_url=restarted.api, timeout=30) as rest:
                response = await rest.post(
                    f"/conversations/{conversation_id}/messages",
                    json={"client_id": in_flight, "body": "In flight"},
                    headers=james.headers,
                )
            after_retry = await resync(ws, conversation_id)

    seqs = [m["seq"] for m in stored]
    assert seqs == list(range(1, len(stored) + 1)), f"gaps or repeats after the crash: {seqs}"
    for client_id, seq in acked.items():
        assert client_id in by_client, f"acknowledged message {client_id} (seq {seq}) was lost"
        assert by_client[client_id]["seq"] == seq
    assert sum(m["client_id"] == in_flight for m in stored) <= 1
    assert not late_ack or already_there, "acknowledged, yet not stored"
    assert response.status_code == (200 if already_there else 201), response.text
    assert [m["client_id"] for m in after_retry].count(in_flight) == 1
    seqs = [m["seq"] for m in after_retry]
    assert seqs == list(range(1, len(after_retry) + 1))
    assert len(after_retry) == len(stored) + (0 if already_there else 1)

"""The client side of bench/messaging.py: one worker process holds a share of the websockets.

The driver sends each worker commands over a pipe (connect, step, close, exit) and gets plain
data back. During a step a worker sends on an open-loop schedule: message k of the step goes at
`t0 + k / rate` whether or not earlier ones were acknowledged, and carries that scheduled time
in its body, so a server (or a worker) that falls behind shows up as latency instead of quietly
slowing the offered rate (no coordinated omission). Each received `message.created` yields one
latency sample: receive time minus scheduled send time, on the machine's one wall clock.
"""

import asyncio
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PADDING = "Blood sugar 142 before lunch; feet a little swollen, taking the new dose at 6 pm."


@dataclass(frozen=True)
class Member:
    """One user's socket: who, with which token, in which conversation."""

    index: int
    user_id: str
    token: str
    conversation: int
    conversation_id: str


@dataclass
class StepState:
    step: int = -1
    prefix: str = ""
    latencies: list[float] = field(default_factory=list)
    received: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    acked: set[str] = field(default_factory=set)
    errors: Counter = field(default_factory=Counter)
    stray: int = 0


class Worker:
    def __init__(self, number: int) -> None:
        self.number = number
        self.sockets: list[tuple[Member, ClientConnection]] = []
        self.readers: list[asyncio.Task] = []
        self.state = StepState()
        self.closed_early = 0

    # -- connecting -----------------------------------------------------------------------------

    async def connect(self, url: str, kind: str, members: list[Member], parallel: int) -> dict:
        gate = asyncio.Semaphore(parallel)
        failures: list[str] = []

        async def one(member: Member) -> None:
            async with gate:
                try:
                    ws = await connect(
                        url,
                        open_timeout=60,
                        ping_interval=None,
                        compression=None,
                        max_size=2**24,
                        max_queue=None,
                    )
                    hello: dict[str, Any] = {"type": "auth", "token": member.token}
                    if kind == "baseline":
                        hello = {
                            "type": "auth",
                            "token": member.user_id,
                            "conversations": [member.conversation_id],
                        }
                    await ws.send(json.dumps(hello))
                    ready = json.loads(await asyncio.wait_for(ws.recv(), 60))
                    if ready.get("type") != "ready":
                        raise RuntimeError(f"not ready: {ready}")
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                self.sockets.append((member, ws))
                self.readers.append(asyncio.create_task(self._read(member, ws)))

        started = time.perf_counter()
        await asyncio.gather(*(one(m) for m in members))
        return {
            "connected": len(members) - len(failures),
            "failures": failures[:3],
            "failed": len(failures),
            "seconds": time.perf_counter() - started,
        }

    async def close(self) -> dict:
        """Close every socket at once; drop (abort) the ones whose server is too busy to
        finish the closing handshake within a few seconds."""
        for task in self.readers:
            task.cancel()
        closing = [asyncio.create_task(ws.close()) for _, ws in self.sockets]
        if closing:
            await asyncio.wait(closing, timeout=5)
        for task, (_, ws) in zip(closing, self.sockets, strict=True):
            if not task.done():
                task.cancel()
                ws.transport.abort()
        self.sockets, self.readers = [], []
        return {"closed_early": self.closed_early}

    # -- receiving ------------------------------------------------------------------------------

    async def _read(self, member: Member, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                self._on_frame(member, text)
        except ConnectionClosed:
            pass
        self.closed_early += 1

    def _on_frame(self, member: Member, text: str | bytes) -> None:
        now = time.time_ns()
        frame = json.loads(text)
        kind = frame.get("type")
        state = self.state
        if kind == "message.created":
            message = frame["message"]
            client_id = message.get("client_id") or ""
            if not client_id.startswith(state.prefix):
                state.stray += 1  # from an earlier step, arriving late
                return
            body: str = message["body"]
            sent = int(body[2 : body.index(";")])
            state.latencies.append((now - sent) / 1e6)
            state.received[client_id].append(member.index)
        elif kind == "ack":
            state.acked.add(frame["client_id"])
        elif kind == "error":
            state.errors[frame.get("code", "?")] += 1

    # -- one step of offered load ---------------------------------------------------------------

    async def step(self, step: int, rate: float, duration: float, t0: float, grace: float) -> dict:
        """Offer `rate` sends per second from this worker's sockets, round robin, from wall time
        `t0` for `duration` seconds; keep listening `grace` seconds more; report."""
        prefix = f"bench-s{step}w{self.number}-"
        self.state = StepState(step=step, prefix=f"bench-s{step}w")
        total = int(rate * duration)
        sent: list[tuple[str, int, int]] = []
        lags: list[float] = []
        stalled = 0
        cpu = time.process_time()
        await asyncio.sleep(max(0.0, t0 - time.time()))
        hard_stop = t0 + duration + 5
        senders = self.sockets
        for k in range(total):
            scheduled = t0 + k / rate
            now = time.time()
            if scheduled > now:
                await asyncio.sleep(scheduled - now)
                now = time.time()
            if now > hard_stop:
                break
            lags.append((now - scheduled) * 1000)
            member, ws = senders[k % len(senders)]
            client_id = f"{prefix}{k}"
            body = f"t={int(scheduled * 1e9)};{PADDING}"
            frame = {
                "type": "send",
                "conversation_id": member.conversation_id,
                "client_id": client_id,
                "body": body,
            }
            try:
                # Writing never waits on the server, unless its socket stopped reading.
                await asyncio.wait_for(ws.send(json.dumps(frame)), max(0.1, hard_stop - now))
            except (ConnectionClosed, TimeoutError):
                stalled += 1
                continue
            sent.append((client_id, member.conversation, member.index))
        await asyncio.sleep(max(0.0, t0 + duration + grace - time.time()))
        state = self.state
        lags.sort()
        return {
            "sent": sent,
            "received": dict(state.received),
            "latencies": state.latencies,
            "acked": len(state.acked & {c for c, _, _ in sent}),
            "errors": dict(state.errors),
            "lag_p99": lags[int(0.99 * (len(lags) - 1))] if lags else 0.0,
            "cpu_seconds": time.process_time() - cpu,
            "closed_early": self.closed_early,
            "stalled": stalled,
        }


async def _serve(number: int, pipe: Connection) -> None:
    worker = Worker(number)
    loop = asyncio.get_running_loop()
    while True:
        command, kwargs = await loop.run_in_executor(None, pipe.recv)
        if command == "exit":
            await worker.close()
            pipe.send({})
            return
        handler = getattr(worker, command)
        try:
            pipe.send(await handler(**kwargs))
        except Exception as exc:
            pipe.send({"error": f"{type(exc).__name__}: {exc}"})


def run_worker(number: int, pipe: Connection) -> None:
    """Entry point of a worker process (uvloop when installed, as the servers use)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(number, pipe))
    else:
        uvloop.run(_serve(number, pipe))

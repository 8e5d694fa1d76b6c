"""How much live messaging does one server process carry, against a bare relay in the same run?

For each database (SQLite, PostgreSQL) this starts the real API (uvicorn on 127.0.0.1, the
per-user send limit raised out of the way through WS_SEND_RATE / WS_SEND_BURST), fills a fresh
migrated database with one organization of M care-team conversations of 10 members each
(M x 10 users, written with the project's models; access tokens minted directly, so no argon2
cost), and connects one websocket per user from worker processes. Then:

- memory: server RSS (/proc/<pid>/status VmRSS) before and after opening the idle,
  authenticated sockets, per socket;
- resync: one conversation holds R earlier messages; time from sending a `resync` frame from
  seq 0 to `resync.done`;
- fan-out: steps of offered load in deliveries per second (a message to a conversation of 10 is
  9 deliveries), each an open-loop schedule of sends (not gated on acks) for a fixed time,
  measuring every delivery's latency (send time is in the body), lost deliveries (not received
  within a grace period), duplicates, and CPU of server and clients. A step is sustained with
  zero loss, zero duplicates and p99 <= 50 ms; stepping stops at the first step that is not.

The baseline is `bench/relay_baseline.py` (websockets.broadcast, no auth, no storage) in its own
process, driven by the same clients through the same rooms and steps (and two doublings past
the last step while it keeps up); the ratio of sustained deliveries/s is printed per database.
Every phase is bounded in count and time.

    python bench/messaging.py [--db sqlite postgresql] [--conversations 100] [--duration 10]
        [--rates 500 1000 2000 5000 10000] [--workers 2] [--resync-messages 10000] [--quick]
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, update  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from backend.careteam.models import CareTeamMember  # noqa: E402
from backend.core.config import Settings  # noqa: E402
from backend.core.db import Database  # noqa: E402
from backend.core.security import create_access_token  # noqa: E402
from backend.core.types import new_id, utcnow  # noqa: E402
from backend.identity.models import AuthSession, Organization, User  # noqa: E402
from backend.messaging.models import Conversation, ConversationMember, Message  # noqa: E402
from backend.patients.models import Patient  # noqa: E402
from bench.messaging_clients import Member, run_worker  # noqa: E402
from shared.enums import ConversationKind, MessageKind, Role, TeamRole  # noqa: E402
from tests.live_server import (  # noqa: E402
    TEST_SECRET,
    free_port,
    start_api,
    stop_process,
)
from tests.services import (  # noqa: E402
    REDIS_URL,
    create_postgres_database,
    drop_postgres_database,
)

P99_TARGET_MS = 50.0
RATE_TARGET = 10_000
RESYNC_TARGET_S = 1.0
MEMORY_TARGET_KIB = 64.0
RATIO_TARGET = 1 / 3
SERVER_ENV = {"WS_SEND_RATE": "1000000", "WS_SEND_BURST": "1000000", "ACCESS_TOKEN_MINUTES": "60"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NO_SIGN_IN = "!"  # not a hash: bench users never sign in, their tokens are minted directly


# --- the population ----------------------------------------------------------------------------


@dataclass
class Population:
    members: list[Member]
    rooms: list[list[int]]
    """Per conversation, the indexes of its members."""
    resync_member: Member
    history: int


async def populate(url: str, conversations: int, size: int, history: int) -> Population:
    """One organization; per conversation a patient and `size - 1` navigators on its care team,
    all members of its care-team thread, each with a live device session and an access token.
    The first conversation also gets `history` earlier messages, for the resync measurement."""
    settings = Settings(
        env="test", database_url=url, secret_key=TEST_SECRET, access_token_minutes=60
    )
    db = Database(url)
    now = utcnow()
    org = Organization(name="Bench Health")
    users, patients, team, threads, memberships, sessions = [], [], [], [], [], []
    rooms: list[list[int]] = []
    owners: list[int] = []
    for c in range(conversations):
        patient_user = User(
            organization_id=org.id,
            email=f"patient{c}@bench.example",
            full_name=f"Patient {c}",
            role=Role.patient,
            password_hash=NO_SIGN_IN,
        )
        staff = [
            User(
                organization_id=org.id,
                email=f"nav{c}-{s}@bench.example",
                full_name=f"Navigator {c}-{s}",
                role=Role.navigator,
                password_hash=NO_SIGN_IN,
            )
            for s in range(size - 1)
        ]
        patient = Patient(
            organization_id=org.id,
            user_id=patient_user.id,
            mrn=f"B-{c:06d}",
            given_name="Patient",
            family_name=str(c),
            birth_date=date(1955, 1, 1),
        )
        thread = Conversation(
            organization_id=org.id,
            patient_id=patient.id,
            kind=ConversationKind.care_team,
            subject="Care team",
        )
        team += [
            CareTeamMember(
                patient_id=patient.id,
                user_id=u.id,
                team_role=TeamRole.navigator,
                start_at=now - timedelta(days=1),
            )
            for u in staff
        ]
        room = []
        for user in [patient_user, *staff]:
            room.append(len(users))
            users.append(user)
            owners.append(c)
            memberships.append(ConversationMember(conversation_id=thread.id, user_id=user.id))
            sessions.append(AuthSession(user_id=user.id))
        rooms.append(room)
        patients.append(patient)
        threads.append(thread)
    try:
        async with db.session() as session:
            for rows in ([org], users, patients, team, threads, memberships, sessions):
                session.add_all(rows)
                await session.flush()
            if history:
                await _history(session, settings, threads[0], users[1:size], history)
            await session.commit()
    finally:
        await db.dispose()
    members = [
        Member(
            index=i,
            user_id=str(user.id),
            token=create_access_token(
                settings, user_id=user.id, session_id=sessions[i].id, role=str(user.role)
            ),
            conversation=owners[i],
            conversation_id=str(threads[owners[i]].id),
        )
        for i, user in enumerate(users)
    ]
    return Population(members=members, rooms=rooms, resync_member=members[0], history=history)


async def _history(session, settings: Settings, thread: Conversation, senders, count: int) -> None:
    keyring = settings.keyring
    start = utcnow() - timedelta(days=30)
    rows = []
    for seq in range(1, count + 1):
        message_id = new_id()
        key_id, cipher = keyring.encrypt_text(
            f"Earlier message {seq}: how are the readings this week?", f"message:{message_id}"
        )
        rows.append(
            {
                "id": message_id,
                "conversation_id": thread.id,
                "seq": seq,
                "change": 0,
                "sender_id": senders[seq % len(senders)].id,
                "client_id": f"history-{seq}",
                "kind": MessageKind.text,
                "urgent": False,
                "body_cipher": cipher,
                "key_id": key_id,
                "created_at": start + timedelta(seconds=seq),
            }
        )
    for chunk in range(0, len(rows), 2000):
        await session.execute(insert(Message), rows[chunk : chunk + 2000])
    await session.execute(
        update(Conversation)
        .where(Conversation.id == thread.id)
        .values(last_seq=count, last_message_at=start + timedelta(seconds=count))
    )


def migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": TEST_SECRET, "ENV": "test"}
    subprocess.run(
        [sys.executable, "-m", "backend", "migrate"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


# --- processes ---------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine, every process (ours or not)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])
    idle = values[3] + values[4]
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class Workers:
    """The client processes; each holds every K-th socket."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for number in range(count):
            mine, theirs = context.Pipe()
            process = context.Process(target=run_worker, args=(number, theirs), daemon=True)
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.pipes)

    def send(self, command: str, per_worker: list[dict]) -> None:
        for pipe, kwargs in zip(self.pipes, per_worker, strict=True):
            pipe.send((command, kwargs))

    def collect(self, timeout: float) -> list[dict]:
        results = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError("a client worker did not answer in time")
            result = pipe.recv()
            if "error" in result:
                raise RuntimeError(f"client worker failed: {result['error']}")
            results.append(result)
        return results

    def call(self, command: str, per_worker: list[dict], timeout: float) -> list[dict]:
        self.send(command, per_worker)
        return self.collect(timeout)

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("exit", {}))
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


# --- measurements ------------------------------------------------------------------------------


@dataclass
class Step:
    offered: int
    seconds: float
    sent: int = 0
    acked: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    misdelivered: int = 0
    errors: dict = field(default_factory=dict)
    p50: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    server_cores: float = 0.0
    client_cores: float = 0.0
    client_lag_p99: float = 0.0
    machine_cores: float = 0.0
    retry: bool = False

    @property
    def sustained(self) -> bool:
        return (
            self.sent > 0
            and self.lost == 0
            and self.duplicated == 0
            and self.misdelivered == 0
            and self.acked == self.sent
            and not self.errors
            and self.p99 <= P99_TARGET_MS
        )


@dataclass
class ServerRun:
    name: str
    steps: list[Step] = field(default_factory=list)
    connect_seconds: float = 0.0
    connected: int = 0
    kib_per_socket: float = 0.0
    rss_before: int = 0
    rss_after: int = 0
    measured_sockets: int = 0
    resync_seconds: list[float] = field(default_factory=list)
    resync_count: int = 0

    @property
    def sustainable(self) -> int:
        passed = [s.offered for s in self.steps if s.sustained]
        return max(passed) if passed else 0


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run_step(workers: Workers, pid: int, pop: Population, number: int, rate: int, args) -> Step:
    """Offer `rate` deliveries per second for `args.duration` seconds; gather every worker."""
    fan = len(pop.rooms[0]) - 1
    sends_per_worker = rate / fan / len(workers)
    t0 = time.time() + 0.5
    kwargs = {
        "step": number,
        "rate": sends_per_worker,
        "duration": args.duration,
        "t0": t0,
        "grace": args.grace,
    }
    workers.send("step", [kwargs] * len(workers))
    time.sleep(max(0.0, t0 - time.time()))
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    busy_before, _ = machine_busy()
    time.sleep(max(0.0, t0 + args.duration - time.time()))
    elapsed = time.monotonic() - wall_before
    server_cores = (cpu_seconds(pid) - cpu_before) / elapsed
    machine_cores = (machine_busy()[0] - busy_before) / elapsed
    results = workers.collect(timeout=args.duration + args.grace + 60)

    step = Step(
        offered=rate,
        seconds=args.duration,
        server_cores=server_cores,
        machine_cores=machine_cores,
    )
    received: dict[str, list[int]] = {}
    latencies: list[float] = []
    for result in results:
        for client_id, recipients in result["received"].items():
            received.setdefault(client_id, []).extend(recipients)
        latencies.extend(result["latencies"])
        step.acked += result["acked"]
        for code, count in result["errors"].items():
            step.errors[code] = step.errors.get(code, 0) + count
        step.client_cores += result["cpu_seconds"] / (args.duration + args.grace)
        step.client_lag_p99 = max(step.client_lag_p99, result["lag_p99"])
        for problem in ("stalled", "closed_early"):
            if result[problem]:
                step.errors[problem] = step.errors.get(problem, 0) + result[problem]
    for result in results:
        for client_id, conversation, sender in result["sent"]:
            step.sent += 1
            expected = set(pop.rooms[conversation]) - {sender}
            got = received.get(client_id, [])
            unique = set(got)
            step.delivered += len(unique & expected)
            step.lost += len(expected - unique)
            step.duplicated += len(got) - len(unique)
            step.misdelivered += len(unique - expected)
    latencies.sort()
    step.p50, step.p99 = _quantile(latencies, 0.5), _quantile(latencies, 0.99)
    step.max = latencies[-1] if latencies else 0.0
    return step


async def measure_resync(url: str, member: Member, expected: int, repeats: int) -> list[float]:
    """Seconds from a `resync` frame from seq 0 to `resync.done`, `repeats` times."""
    times = []
    async with connect(url, ping_interval=None, compression=None, max_size=2**26) as ws:
        await ws.send(json.dumps({"type": "auth", "token": member.token}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert ready["type"] == "ready", ready
        for _ in range(repeats):
            frame = {"type": "resync", "cursors": {member.conversation_id: {"seq": 0}}}
            started = time.perf_counter()
            await ws.send(json.dumps(frame))
            count = 0
            async with asyncio.timeout(60):
                while True:
                    answer = json.loads(await ws.recv())
                    if answer["type"] == "resync":
                        count += len(answer["messages"])
                    elif answer["type"] == "resync.done":
                        break
                    elif answer["type"] == "error":
                        raise RuntimeError(f"resync refused: {answer}")
            times.append(time.perf_counter() - started)
            if count != expected:
                raise RuntimeError(f"resync returned {count} messages, expected {expected}")
    return times


def drive(
    name: str,
    ws_url: str,
    kind: str,
    pid: int,
    pop: Population,
    workers: Workers,
    rates: list[int],
    args,
    deadline: float,
) -> ServerRun:
    """Connect every socket (measuring memory), resync (real server only), then step."""
    run = ServerRun(name)
    k = len(workers)
    # The first tenth warms up what is paid once, not per socket (code paths, the database
    # pool growing to its limit under concurrent sign-ins); memory is measured over the rest.
    warm = max(k, len(pop.members) // 10)

    def connect_share(members: list[Member]) -> None:
        shares = [
            {"url": ws_url, "kind": kind, "members": members[i::k], "parallel": 25}
            for i in range(k)
        ]
        results = workers.call("connect", shares, timeout=300)
        failed = sum(r["failed"] for r in results)
        if failed:
            raise RuntimeError(f"{failed} sockets failed to connect: {results[0]['failures']}")
        run.connected += sum(r["connected"] for r in results)

    started = time.perf_counter()
    connect_share(pop.members[:warm])
    time.sleep(args.settle)
    run.rss_before = rss_kib(pid)
    connect_share(pop.members[warm:])
    run.connect_seconds = time.perf_counter() - started
    time.sleep(2 * args.settle)
    run.rss_after = rss_kib(pid)
    run.measured_sockets = len(pop.members) - warm
    run.kib_per_socket = (run.rss_after - run.rss_before) / max(1, run.measured_sockets)

    if kind == "ours" and pop.history:
        run.resync_seconds = asyncio.run(
            measure_resync(ws_url, pop.resync_member, pop.history, args.resync_repeats)
        )
        run.resync_count = pop.history

    number = 0
    for rate in rates:
        for attempt in range(1 + args.retries):
            if time.monotonic() > deadline:
                print(f"  {name}: time budget spent; stopping before {rate}/s", flush=True)
                break
            step = run_step(workers, pid, pop, number, rate, args)
            step.retry = attempt > 0
            number += 1
            run.steps.append(step)
            print("  " + _row(name, step), flush=True)
            # Let a backlog drain, so that the next step (or the retry) starts clean.
            wait_idle(pid)
            if step.sustained:
                break
        if not run.steps or not run.steps[-1].sustained:
            break
    workers.call("close", [{}] * k, timeout=60)
    return run


def wait_idle(pid: int, limit: float = 30.0) -> None:
    """Wait (at most `limit` seconds) until the server uses under 5% of a core."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            return


# --- the two kinds of server -------------------------------------------------------------------


def run_ours(database: str, args, workers: Workers, deadline: float) -> ServerRun:
    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-msg-"))
    pg_url = None
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    else:
        url = pg_url = create_postgres_database()
    try:
        migrate(url)
        started = time.perf_counter()
        pop = asyncio.run(populate(url, args.conversations, args.members, args.resync_messages))
        print(
            f"  {database}: {len(pop.members)} users in {len(pop.rooms)} conversations and "
            f"{pop.history} earlier messages written in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        env: dict[str, str | None] = {**SERVER_ENV, "REDIS_URL": REDIS_URL if args.redis else None}
        log_path = tmp / "server.log"
        with log_path.open("wb") as log:
            process, http_url = start_api(url, extra_env=env, stderr=log)
        try:
            ws_url = http_url.replace("http://", "ws://") + "/api/v1/ws"
            run = drive(
                f"carecircle/{database}",
                ws_url,
                "ours",
                process.pid,
                pop,
                workers,
                args.rates,
                args,
                deadline,
            )
        finally:
            stop_process(process)
    except BaseException:
        print(f"  {database}: the server's log is kept in {tmp / 'server.log'}", flush=True)
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        return run
    finally:
        if pg_url:
            drop_postgres_database(pg_url)


def run_baseline(pop: Population, args, workers: Workers, deadline: float) -> ServerRun:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "relay_baseline.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if process.stdout is None or process.stdout.readline().strip() != "ready":
            raise RuntimeError("the baseline relay did not start")
        last = args.rates[-1]
        rates = [*args.rates, *([last * 2, last * 4] if args.extend_baseline else [])]
        return drive(
            "bare relay",
            f"ws://127.0.0.1:{port}",
            "baseline",
            process.pid,
            pop,
            workers,
            rates,
            args,
            deadline,
        )
    finally:
        stop_process(process)


def baseline_population(conversations: int, size: int) -> Population:
    """Same rooms and users as the real run, with plain ids (the relay checks nothing)."""
    members, rooms = [], []
    for c in range(conversations):
        conversation_id = str(uuid.uuid4())
        room = []
        for _ in range(size):
            index = len(members)
            user_id = str(uuid.uuid4())
            members.append(Member(index, user_id, user_id, c, conversation_id))
            room.append(index)
        rooms.append(room)
    return Population(members=members, rooms=rooms, resync_member=members[0], history=0)


# --- output ------------------------------------------------------------------------------------

HEADER = (
    f"{'server':<28} {'offered/s':>9} {'delivered/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'max ms':>7} {'lost':>6} {'dup':>4} {'unacked':>7} {'server CPU':>10} {'client CPU':>10} "
    f"{'machine':>8} "
    f"{'send lag p99':>12}  ok"
)


def _row(name: str, step: Step) -> str:
    label = f"{name} (retry)" if step.retry else name
    extra = f"  errors {step.errors}" if step.errors else ""
    return (
        f"{label:<28} {step.offered:>9} {step.delivered / step.seconds:>11.0f} "
        f"{step.p50:>7.1f} {step.p99:>7.1f} {step.max:>7.0f} {step.lost:>6} "
        f"{step.duplicated:>4} {step.sent - step.acked:>7} {step.server_cores:>9.2f}c "
        f"{step.client_cores:>9.2f}c {step.machine_cores:>7.2f}c "
        f"{step.client_lag_p99:>10.1f}ms  "
        f"{'yes' if step.sustained else 'NO'}{extra}"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(runs: list[ServerRun], baseline: ServerRun, args) -> None:
    print()
    print(
        f"Live messaging: {args.conversations} conversations x {args.members} members = "
        f"{args.conversations * args.members} sockets (one per user) from {args.workers} client "
        f"processes; {os.cpu_count()} cores shared by server, clients and the database; "
        f"{args.duration:g} s per step of open-loop load, {args.grace:g} s grace after it."
    )
    print(
        "Server: uvicorn, 1 process, WS_SEND_RATE=1000000 and WS_SEND_BURST=1000000 (the per-user "
        "send limit, 10/s with bursts of 40 by default, raised for the bench); "
        f"{'fan-out through Redis' if args.redis else 'in-process fan-out (no REDIS_URL)'}; "
        "no permessage-deflate on either server."
    )
    print(
        "offered = deliveries/s offered (9 per message); latency = receive - scheduled send; "
        "lost = deliveries not received by the end of the grace; server/client CPU in cores "
        "during the step (machine: every process, the database's and other users' included); "
        "send lag = how late clients sent against their schedule; ok = no "
        f"loss, no duplicate, all acked, p99 <= {P99_TARGET_MS:.0f} ms."
    )
    print()
    print(HEADER)
    for run in [baseline, *runs]:
        for step in run.steps:
            print(_row(run.name, step))
    print()
    print(
        f"{'server':<28} {'sustained/s':>11} {'vs relay':>8} {'connect':>8} "
        f"{'idle RSS':>22} {'KiB/socket':>10} {'resync (median)':>24}"
    )
    for run in [baseline, *runs]:
        ratio = run.sustainable / baseline.sustainable if baseline.sustainable else 0.0
        resync = (
            f"{statistics.median(run.resync_seconds):.3f} s for {run.resync_count}"
            if run.resync_seconds
            else "-"
        )
        rss = f"{run.rss_before / 1024:.0f}->{run.rss_after / 1024:.0f} MiB/{run.measured_sockets}"
        print(
            f"{run.name:<28} {run.sustainable:>11} {ratio:>8.2f} {run.connect_seconds:>7.1f}s "
            f"{rss:>22} {run.kib_per_socket:>10.1f} {resync:>24}"
        )
        if run.resync_seconds:
            print(f"{'':<28} resync runs: " + ", ".join(f"{t:.3f} s" for t in run.resync_seconds))
    if baseline.steps and baseline.steps[-1].sustained:
        print(
            "(the relay sustained every step offered, so its figure is a lower bound and the "
            "ratios are upper bounds)"
        )
    busiest = max((s.client_cores for r in [baseline, *runs] for s in r.steps), default=0.0)
    print(
        f"Clients used at most {busiest:.2f} cores in any step (of {os.cpu_count()}); their send "
        "lag column shows whether they kept to the schedule."
    )
    print()
    print("Targets:")
    for run in runs:
        kept_up = [s for s in run.steps if s.sent and s.acked == s.sent]
        lost = sum(s.lost for s in kept_up)
        duplicates = sum(s.duplicated + s.misdelivered for s in run.steps)
        at_target = next((s for s in run.steps if s.offered == RATE_TARGET), None)
        ratio = run.sustainable / baseline.sustainable if baseline.sustainable else 0.0
        resync = statistics.median(run.resync_seconds) if run.resync_seconds else float("nan")
        if at_target:
            p99 = f"p99 {at_target.p99:.1f} ms"
        else:
            p99 = f"not reached: sustained {run.sustainable}/s"
        print(f"  {run.name}:")
        print(
            f"    no loss while keeping up (every send acked), no duplicate at any load: "
            f"{_verdict(bool(kept_up) and lost == 0 and duplicates == 0)} "
            f"({lost} lost in {len(kept_up)} such steps, {duplicates} duplicated or misdelivered "
            f"in all {len(run.steps)})"
        )
        print(
            f"    p99 <= {P99_TARGET_MS:.0f} ms at {RATE_TARGET} deliveries/s: "
            f"{_verdict(bool(at_target and at_target.sustained))} ({p99})"
        )
        print(
            f"    >= 1/3 of the bare relay: {_verdict(ratio >= RATIO_TARGET)} "
            f"({run.sustainable} vs {baseline.sustainable} deliveries/s = {ratio:.2f})"
        )
        print(
            f"    resync of {run.resync_count} in < {RESYNC_TARGET_S:.0f} s: "
            f"{_verdict(resync < RESYNC_TARGET_S)} ({resync:.3f} s)"
        )
        print(
            f"    <= {MEMORY_TARGET_KIB:.0f} KiB per idle socket: "
            f"{_verdict(run.kib_per_socket <= MEMORY_TARGET_KIB)} ({run.kib_per_socket:.1f} KiB)"
        )
    top = max(args.rates)
    if top < RATE_TARGET:
        print(f"  (steps stop at {top}/s, below the {RATE_TARGET}/s target)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per step")
    parser.add_argument("--grace", type=float, default=2.0, help="seconds to wait for late ones")
    parser.add_argument("--rates", type=int, nargs="+", default=[200, 500, 1000, 2000, 5000, 10000])
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--resync-messages", type=int, default=10_000)
    parser.add_argument("--resync-repeats", type=int, default=3)
    parser.add_argument("--retries", type=int, default=1, help="re-runs of a failed step")
    parser.add_argument("--redis", action="store_true", help="fan out through Redis")
    parser.add_argument("--max-minutes", type=float, default=10.0, help="hard cap on the run")
    parser.add_argument("--quick", action="store_true", help="50 sockets, short steps, smoke run")
    args = parser.parse_args()
    args.extend_baseline = not args.quick
    args.settle = 1.0
    if args.quick:
        args.conversations, args.duration, args.grace, args.settle = 5, 1.5, 0.5, 0.5
        args.retries = 0
        args.rates, args.resync_messages, args.resync_repeats = [200, 500], 1000, 1
    args.rates = sorted(args.rates)
    deadline = time.monotonic() + args.max_minutes * 60

    workers = Workers(args.workers)
    try:
        print("bare relay baseline:", flush=True)
        baseline = run_baseline(
            baseline_population(args.conversations, args.members), args, workers, deadline
        )
        runs = []
        for database in args.db:
            print(f"carecircle on {database}:", flush=True)
            runs.append(run_ours(database, args, workers, deadline))
    finally:
        workers.stop()
    report(runs, baseline, args)


if __name__ == "__main__":
    main()

"""How fast does the push outbox drain, and how long from an event's commit to the provider?

Runs the real dispatcher (aioapns and pyfcm) against the local fake APNs (HTTP/2 + TLS) and
fake FCM on 127.0.0.1, on a fresh PostgreSQL database:

1. Throughput: N queued jobs (half to iOS devices, half to Android) drained by one dispatcher
   process, then by two (`python -m backend.notifications`), in jobs per second, measured from
   the first push the fakes receive to the last (process start-up excluded). The two-dispatcher
   run is reported as a ratio to the one-dispatcher baseline of the same run.
2. Latency: events committed at a steady rate (`notify(..., push=True)`, as a sent message
   does), from commit to the fake receiving the push, p50/p99: with the dispatcher inline (woken
   by the commit) and as its own process (finding jobs by polling, PUSH_POLL_SECONDS=0.5).

Every loop is bounded in count and in time.

    python bench/push_dispatch.py [--jobs 2000] [--events 200] [--rate 40]
"""

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

import backend.models  # noqa: E402, F401
from backend.core.db import Database  # noqa: E402
from backend.notifications import service as notifications  # noqa: E402
from backend.notifications.models import PushDevice, PushJob  # noqa: E402
from backend.notifications.runner import start_dispatcher  # noqa: E402
from shared.enums import NotificationCategory, Role  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.conftest import make_settings, migrate  # noqa: E402
from tests.fakes.stack import PushFakes, start_push_fakes  # noqa: E402
from tests.live_server import TEST_SECRET  # noqa: E402
from tests.services import create_postgres_database, drop_postgres_database  # noqa: E402

USERS = 20
DEADLINE = 120.0


async def setup_users(db: Database) -> list:
    org = await f.create_org(db, "Bench Clinic")
    users = []
    for n in range(USERS):
        user = await f.create_user(db, org, Role.patient)
        platform = "ios" if n % 2 == 0 else "android"
        async with db.session() as session:
            session.add(PushDevice(user_id=user.id, platform=platform, token=os.urandom(32).hex()))
            await session.commit()
        users.append(user)
    return users


async def queue(db: Database, users: list, count: int) -> None:
    async with db.session() as session:
        for n in range(count):
            session.add(
                PushJob(
                    user_id=users[n % len(users)].id,
                    category=NotificationCategory.reminders,
                    title="Reminder",
                    body="You have a reminder.",
                )
            )
        await session.commit()


def received(fakes: PushFakes) -> list[tuple[str, float]]:
    apns = [(r.payload.get("job_id"), r.received_at) for r in fakes.apns.delivered()]
    fcm = [(r.message["data"]["job_id"], r.received_at) for r in fakes.fcm.delivered()]
    return apns + fcm


def dispatcher_process(url: str, fakes: PushFakes, name: str, poll: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": url,
        "PUSH_POLL_SECONDS": poll,
        **fakes.env(),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "backend.notifications", "--name", name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_for(fakes: PushFakes, count: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while len(received(fakes)) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {len(received(fakes))}/{count} pushes received")
        await asyncio.sleep(0.05)


async def throughput(url: str, db: Database, users: list, fakes: PushFakes, jobs: int, n: int):
    fakes.reset()
    await queue(db, users, jobs)
    processes = [dispatcher_process(url, fakes, f"bench-{n}-{i}", "0.05") for i in range(n)]
    try:
        await wait_for(fakes, jobs)
    finally:
        stop(processes)
    times = sorted(t for _, t in received(fakes))
    ids = [job for job, _ in received(fakes)]
    assert len(set(ids)) == len(ids), "a job was sent twice"
    return jobs / max(times[-1] - times[0], 1e-6)


async def latency(db: Database, users: list, fakes: PushFakes, events: int, rate: float):
    fakes.reset()
    committed: dict[str, float] = {}
    for n in range(events):
        async with db.session() as session:
            note = notifications.notify(
                session,
                user_id=users[n % len(users)].id,
                category=NotificationCategory.messages,
                title="New secure message",
                body="You have a new secure message in CareCircle.",
                push=True,
            )
            await session.flush()
            job_id = await session.scalar(
                select(PushJob.id).where(PushJob.notification_id == note.id)
            )
            await session.commit()
            committed[str(job_id)] = time.time()
        for action in session.info.pop("after_commit", []):
            await action()
        await asyncio.sleep(1 / rate)
    await wait_for(fakes, events)
    samples = sorted((t - committed[job]) * 1000 for job, t in received(fakes) if job in committed)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return statistics.median(samples), p99


async def run(url: str, args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="push-bench-"))
    fakes = start_push_fakes(directory)
    db = Database(url)
    try:
        users = await setup_users(db)
        one = await throughput(url, db, users, fakes, args.jobs, 1)
        two = await throughput(url, db, users, fakes, args.jobs, 2)

        settings = make_settings(url, **fakes.overrides, push_dispatcher="inline")
        running = await start_dispatcher(db, settings, name="bench-inline")
        try:
            inline = await latency(db, users, fakes, args.events, args.rate)
        finally:
            await running.stop()
        process = dispatcher_process(url, fakes, "bench-latency", "0.5")
        try:
            await asyncio.sleep(2.0)  # let it start before the clock runs
            separate = await latency(db, users, fakes, args.events, args.rate)
        finally:
            stop([process])
    finally:
        await db.dispose()
        fakes.stop()

    print(
        f"\nPush dispatch on PostgreSQL, {args.jobs} jobs (half APNs, half FCM), fakes on 127.0.0.1"
    )
    print(f"{'measure':<52}{'value':>14}{'ratio':>9}")
    print(f"{'throughput, 1 dispatcher process (jobs/s)':<52}{one:>14.0f}{1.0:>9.2f}")
    print(f"{'throughput, 2 dispatcher processes (jobs/s)':<52}{two:>14.0f}{two / one:>9.2f}")
    print(f"{'  per dispatcher (jobs/s)':<52}{two / 2:>14.0f}{two / 2 / one:>9.2f}")
    print(f"\nCommit to provider, {args.events} events at {args.rate:.0f}/s")
    print(f"{'measure':<52}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'inline dispatcher (woken by the commit)':<52}{inline[0]:>10.1f}{inline[1]:>10.1f}")
    print(f"{'separate process (polls every 0.5 s)':<52}{separate[0]:>10.1f}{separate[1]:>10.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=40.0)
    database = create_postgres_database()
    try:
        migrate(database)
        asyncio.run(run(database, parser.parse_args()))
    finally:
        drop_postgres_database(database)

"""Dispatchers as real processes (`python -m backend.notifications`): two at once on PostgreSQL
never send a job twice, and one killed with SIGKILL mid-batch loses nothing and causes at most
one resend of what it had in flight."""

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.core.config import PROJECT_ROOT
from backend.core.db import Database
from backend.notifications.models import Notification, PushJob
from shared.enums import NotificationCategory, PushStatus
from tests.backend.push_helpers import (
    add_device,
    build_team,
    close,
    make_dispatcher,
    push_settings,
)
from tests.fakes.stack import PushFakes
from tests.live_server import TEST_SECRET

DEADLINE = 60.0


def start_dispatcher(
    db_url: str, fakes: PushFakes, name: str, log: Path, **settings: str
) -> subprocess.Popen:
    env = {
        **os.environ,
        "ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": db_url,
        "PUSH_POLL_SECONDS": "0.05",
        **fakes.env(),
        **{k.upper(): v for k, v in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "backend.notifications", "--name", name],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def queue_jobs(db: Database, users, per_user: int) -> int:
    async with db.session() as session:
        for user in users:
            for n in range(per_user):
                notification = Notification(
                    user_id=user.id,
                    category=NotificationCategory.reminders,
                    title="Reminder",
                    body="You have a reminder.",
                )
                session.add(notification)
                session.add(
                    PushJob(
                        user_id=user.id,
                        notification_id=notification.id,
                        category=NotificationCategory.reminders,
                        title="Reminder",
                        body=f"You have a reminder ({n}).",
                    )
                )
        await session.commit()
    return len(users) * per_user


async def unfinished(db: Database) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(PushJob)
                .where(PushJob.status.in_((PushStatus.pending, PushStatus.sending)))
            )
            or 0
        )


async def wait_until(predicate, timeout: float = DEADLINE, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def received_job_ids(fakes: PushFakes) -> collections.Counter:
    return collections.Counter(r.payload.get("job_id") for r in fakes.apns.requests)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_dispatchers_never_send_a_job_twice(
    db_url, db: Database, fakes: PushFakes, tmp_path: Path
):
    team = await build_team(db)
    users = [team.patient_user, team.care_manager, team.navigator]
    for user in users:
        await add_device(db, user, "ios")
    total = await queue_jobs(db, users, per_user=100)
    fakes.apns.delay = 0.005  # a little provider latency, so the two overlap
    processes = [
        start_dispatcher(db_url, fakes, f"d{i}", tmp_path / f"d{i}.log", push_batch_size="10")
        for i in (1, 2)
    ]
    try:

        async def done() -> bool:
            return await unfinished(db) == 0

        await wait_until(done, what="both dispatchers to drain the outbox")
    finally:
        for process in processes:
            stop(process)
    counts = received_job_ids(fakes)
    assert sum(counts.values()) == total, "every job sent"
    assert max(counts.values()) == 1, "a job was sent twice"
    async with db.session() as session:
        by = dict(
            (
                await session.execute(
                    select(PushJob.claimed_by, func.count()).group_by(PushJob.claimed_by)
                )
            ).all()
        )
    assert set(by) == {"d1", "d2"}, f"both dispatchers should have worked: {by}"
    assert not fakes.apns.problems


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_dispatcher_killed_mid_batch_loses_nothing(
    db_url, db: Database, fakes: PushFakes, tmp_path: Path
):
    team = await build_team(db)
    users = [team.patient_user, team.care_manager, team.navigator]
    for user in users:
        await add_device(db, user, "ios")
    total = await queue_jobs(db, users, per_user=20)
    fakes.apns.delay = 0.3  # slow answers: the kill lands while sends are in flight
    victim = start_dispatcher(
        db_url,
        fakes,
        "victim",
        tmp_path / "victim.log",
        push_batch_size="20",
        push_lease_seconds="3",
    )
    try:

        async def midway() -> bool:
            assert victim.poll() is None, (tmp_path / "victim.log").read_text()
            return len(fakes.apns.requests) >= 25

        await wait_until(midway, what="the victim to be mid-batch")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
    before_kill = received_job_ids(fakes)
    assert 0 < sum(before_kill.values()) < total
    fakes.apns.delay = 0.0
    settings = push_settings(db_url, fakes, push_lease_seconds=3)
    survivor = make_dispatcher(db, settings, name="survivor")
    try:

        async def done() -> bool:
            await survivor.run_once()
            return await unfinished(db) == 0

        await wait_until(done, what="the survivor to finish the outbox")
    finally:
        await close(survivor)
    counts = received_job_ids(fakes)
    assert len(counts) == total, "a job was lost"
    resent = {job for job, n in counts.items() if n > 1}
    assert max(counts.values()) <= 2, "more than one resend"
    assert resent, "the kill should have caught sends in flight"
    assert resent <= set(before_kill), "only what was in flight at the kill is resent"
    async with db.session() as session:
        statuses = set((await session.scalars(select(PushJob.status))).all())
    assert statuses == {PushStatus.sent}

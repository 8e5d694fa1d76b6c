"""Reminder schedulers as real processes (`python -m backend.careplans --once`): two at once on
PostgreSQL, racing over the same due reminders in small batches, send each exactly once."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.careplans.models import Reminder
from backend.core.config import PROJECT_ROOT
from backend.core.db import Database
from backend.core.types import utcnow
from backend.notifications.models import Notification, PushJob
from shared.enums import Role
from tests import factories as f
from tests.backend.careplan_helpers import plan_content, save_plan
from tests.live_server import TEST_SECRET

PATIENTS = 3
PER_PATIENT = 40


def _start(db_url: str, name: str, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": db_url,
        "REMINDER_BATCH_SIZE": "5",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "backend.careplans", "--once", "--name", name],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def test_two_scheduler_processes_send_each_reminder_once(postgres_url, tmp_path):
    db = Database(postgres_url)
    from tests.conftest import _truncate

    await _truncate(db)
    try:
        org = await f.create_org(db)
        manager = await f.create_user(db, org, Role.care_manager)
        now = utcnow()
        expected: set[uuid.UUID] = set()
        for _ in range(PATIENTS):
            user = await f.create_user(db, org, Role.patient)
            patient = await f.create_patient(db, org, user=user)
            await f.add_to_team(db, patient, manager)
            await save_plan(db, patient.id, manager, plan_content(now.date()))
            async with db.session() as session:
                from backend.careplans.models import CarePlan

                plan = await session.scalar(
                    select(CarePlan).where(CarePlan.patient_id == patient.id)
                )
                plan.reminders_until = now + timedelta(days=30)  # only the rows below are due
                for n in range(PER_PATIENT):
                    row = Reminder(patient_id=patient.id, user_id=user.id,
                                   activity_id="med-metformin", kind="medication",
                                   due_at=now - timedelta(minutes=1, seconds=n))  # fmt: skip
                    session.add(row)
                    expected.add(row.id)
                await session.commit()
        logs = [(tmp_path / f"s{i}.log").open("w") for i in range(2)]
        procs = [_start(postgres_url, f"scheduler-{i}", logs[i]) for i in range(2)]
        for proc in procs:
            assert proc.wait(60) == 0, (tmp_path / "s0.log").read_text()
        for log in logs:
            log.close()
        async with db.session() as session:
            reminders = (await session.scalars(select(Reminder))).all()
            notes = (await session.scalars(select(Notification))).all()
            jobs = (await session.scalars(select(PushJob))).all()
        mine = [r for r in reminders if r.id in expected]
        assert all(r.status == "sent" for r in mine)
        reminder_notes = [n for n in notes if n.category == "reminders"]
        assert len(reminder_notes) == len(mine) == PATIENTS * PER_PATIENT
        assert len({r.notification_id for r in mine}) == len(mine)
        assert len([j for j in jobs if j.category == "reminders"]) == len(mine)
        print("sent by:", sorted({r.sent_by for r in mine}))
    finally:
        await db.dispose()


pytestmark = pytest.mark.timeout(120)

"""Medication and appointment reminders: planned from the plan ahead of time, sent once.

Two steps per round, each one short transaction:
- plan: for plans not planned far enough ahead (`care_plan.reminders_until`), write `reminder`
  rows for the next hours. The unique key (person, activity, instant) and INSERT ... ON CONFLICT
  DO NOTHING make this idempotent, so two processes planning the same plan write each row once.
- send: claim pending reminders that are due (`SELECT ... FOR UPDATE SKIP LOCKED` on
  PostgreSQL, so concurrent schedulers take different rows; on SQLite the single write lock
  serializes rounds), and in the same transaction write the in-app notification with its push
  job (the outbox the push dispatcher delivers) and mark the reminder `sent`. A crash before
  commit leaves the reminder pending and nothing written; after commit it is sent: never twice.

What a reminder says is generic ("You have a reminder"): the lock screen never shows a drug or a
diagnosis (see `backend.notifications.payloads`); the app shows the details on Today.
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.careplans.models import CarePlan, Reminder, ReminderSetting
from backend.careplans.today import local_date_of, local_instant
from backend.core.config import Settings
from backend.core.db import Database, commit
from backend.core.types import new_id, utcnow
from backend.notifications.service import notify
from backend.patients.models import Patient
from shared.enums import ActivityKind, NotificationCategory, ReminderStatus
from shared.schemas.careplans import AppointmentActivity, CarePlanContent, MedicationActivity

log = logging.getLogger(__name__)

TITLE = "Reminder"
BODY = "You have a reminder. Open CareCircle to see what is due."
STALE_AFTER = timedelta(hours=2)
"""A reminder more than this late (the scheduler was down) is cancelled, not sent."""
BATCH = 100


def _quiet(at: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    return start <= at < end if start < end else at >= start or at < end


def planned_reminders(
    content: CarePlanContent,
    setting: ReminderSetting | None,
    zone: ZoneInfo,
    *,
    start: datetime,
    until: datetime,
) -> list[tuple[str, str, datetime, bool]]:
    """(activity id, kind, instant, push) for every reminder in [start, until). Pure."""
    meds_on = setting.medication_reminders if setting else True
    visits_on = setting.appointment_reminders if setting else True
    lead = timedelta(minutes=setting.appointment_lead_minutes if setting else 120)
    chosen = (setting.medication_times if setting else None) or {}
    quiet = (setting.quiet_hours_start, setting.quiet_hours_end) if setting else (None, None)
    found = []
    first, last = local_date_of(start, zone), local_date_of(until, zone)
    for activity in content.activities:
        assert activity.id is not None
        if isinstance(activity, MedicationActivity) and meds_on:
            times = [time.fromisoformat(t) for t in chosen.get(activity.id, [])] or activity.times
            day = first
            while day <= last:
                in_period = activity.start_date <= day and (
                    activity.end_date is None or day <= activity.end_date
                )
                for at in times if in_period else []:
                    due = local_instant(day, at, zone)
                    if start <= due < until:
                        local = due.astimezone(zone).time()
                        found.append(
                            (activity.id, ActivityKind.medication, due, not _quiet(local, *quiet))
                        )
                day += timedelta(days=1)
        elif isinstance(activity, AppointmentActivity) and visits_on:
            due = activity.starts_at - lead
            if start <= due < until:
                local = due.astimezone(zone).time()
                found.append(
                    (activity.id, ActivityKind.appointment, due, not _quiet(local, *quiet))
                )
    return found


def _zone(patient: Patient) -> ZoneInfo:
    try:
        return ZoneInfo(patient.timezone)
    except Exception:
        return ZoneInfo("UTC")


def _locking(statement, session: AsyncSession):
    if session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


async def plan_due(
    session: AsyncSession, *, now: datetime, horizon: timedelta, batch: int = BATCH
) -> int:
    """Materialize reminders for plans that need it. Returns how many rows were new."""
    plans = (
        await session.scalars(
            _locking(
                select(CarePlan)
                .where(
                    or_(
                        CarePlan.reminders_until.is_(None),
                        CarePlan.reminders_until < now + horizon / 2,
                    )
                )
                .order_by(CarePlan.reminders_until)
                .limit(batch),
                session,
            )
        )
    ).all()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = 0
    for plan in plans:
        until = now + horizon
        patient = await session.get(Patient, plan.patient_id)
        if patient is not None and patient.user_id is not None:
            setting = await session.get(ReminderSetting, patient.id)
            start = max(now, plan.reminders_until) if plan.reminders_until else now
            content = CarePlanContent.model_validate(plan.content)
            for activity_id, kind, due, push in planned_reminders(
                content, setting, _zone(patient), start=start, until=until
            ):
                result = await session.execute(
                    insert(Reminder)
                    .values(
                        id=new_id(),
                        patient_id=patient.id,
                        user_id=patient.user_id,
                        activity_id=activity_id,
                        kind=kind,
                        due_at=due,
                        push=push,
                        status=ReminderStatus.pending,
                    )
                    .on_conflict_do_nothing(index_elements=["user_id", "activity_id", "due_at"])
                )
                created += int(result.rowcount or 0)
        plan.reminders_until = until
    return created


async def send_due(session: AsyncSession, *, now: datetime, name: str, batch: int = BATCH) -> int:
    """Claim due reminders and write their notifications (with push jobs), once each."""
    due = list(
        (
            await session.scalars(
                _locking(
                    select(Reminder)
                    .where(Reminder.status == ReminderStatus.pending, Reminder.due_at <= now)
                    .order_by(Reminder.due_at)
                    .limit(batch),
                    session,
                )
            )
        ).all()
    )
    still_planned: dict[uuid.UUID, set[str]] = {}
    sent = 0
    for reminder in due:
        if reminder.patient_id not in still_planned:
            plan = await session.scalar(
                select(CarePlan).where(CarePlan.patient_id == reminder.patient_id)
            )
            ids = set()
            if plan is not None:
                ids = {a["id"] for a in plan.content.get("activities", [])}
            still_planned[reminder.patient_id] = ids
        if reminder.activity_id not in still_planned[reminder.patient_id] or (
            now - reminder.due_at > STALE_AFTER
        ):
            reminder.status = ReminderStatus.cancelled
            continue
        notification = notify(
            session,
            user_id=reminder.user_id,
            category=NotificationCategory.reminders,
            title=TITLE,
            body=BODY,
            link="/today",
            push=reminder.push,
            collapse_key=f"reminder:{reminder.id}",
        )
        await session.flush()  # the notification row first: the reminder refers to it
        reminder.status = ReminderStatus.sent
        reminder.sent_at = now
        reminder.sent_by = name[:64]
        reminder.notification_id = notification.id
        sent += 1
    return sent


class ReminderScheduler:
    def __init__(self, db: Database, settings: Settings, *, name: str | None = None) -> None:
        self.db = db
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    async def run_once(self, now: datetime | None = None) -> tuple[int, int]:
        """One round: (reminders planned, reminders sent)."""
        now = now or utcnow()
        horizon = timedelta(hours=self.settings.reminder_horizon_hours)
        async with self.db.session() as session:
            planned = await plan_due(
                session, now=now, horizon=horizon, batch=self.settings.reminder_batch_size
            )
            await commit(session)
        async with self.db.session() as session:
            sent = await send_due(
                session, now=now, name=self.name, batch=self.settings.reminder_batch_size
            )
            await commit(session)
        return planned, sent

    async def drain(self, now: datetime | None = None, rounds: int = 50) -> int:
        """Rounds until nothing more is sent (bounded). Returns how many were sent."""
        total = 0
        for _ in range(rounds):
            _, sent = await self.run_once(now)
            total += sent
            if sent == 0:
                break
        return total

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reminder round failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.reminder_poll_seconds)


class RunningScheduler:
    def __init__(self, task: asyncio.Task | None, stop: asyncio.Event) -> None:
        self.task, self.stopping = task, stop

    async def stop(self, grace_seconds: float = 10.0) -> None:
        self.stopping.set()
        if self.task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace_seconds)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def start_inline_scheduler(db: Database, settings: Settings) -> RunningScheduler:
    stop = asyncio.Event()
    if settings.reminder_scheduler != "inline":
        return RunningScheduler(None, stop)
    scheduler = ReminderScheduler(db, settings)
    task = asyncio.create_task(scheduler.run(stop), name="reminder-scheduler")
    return RunningScheduler(task, stop)

"""The push dispatcher: claims due outbox jobs, sends them, records what happened.

Guarantees:
- Safe with several dispatchers at once. A claim is one short transaction: on PostgreSQL
  `SELECT ... FOR UPDATE SKIP LOCKED` so concurrent dispatchers take different rows; on SQLite
  every transaction holds the database's single write lock (BEGIN IMMEDIATE), so claims are
  serialized. A claimed job is `sending` with a lease (`next_attempt_at` = now + lease) and the
  claimer's name, committed before anything is sent, so nobody else takes it meanwhile.
- A crash never loses a push: a job whose dispatcher died stays `sending` until its lease ends,
  then any dispatcher claims it again. A device that had already received it then gets it once
  more (at most one resend per crash); devices recorded as done are skipped.
- No transaction is held while talking to Apple or Google.
- Retries on timeouts, 429 and 5xx with exponential back-off and jitter (Retry-After is a
  floor), up to PUSH_MAX_ATTEMPTS claims; then the job is `failed` with the last reason.
- `claimed_by` keeps the name of the dispatcher that last claimed the job, for tracing.
- Quiet hours defer a job (it waits as `pending` until they end) without using up an attempt.
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from backend.core.config import Settings
from backend.core.db import Database
from backend.core.types import utcnow
from backend.identity.models import User
from backend.notifications import devices as device_rules
from backend.notifications import payloads
from backend.notifications import preferences as preference_rules
from backend.notifications.backoff import retry_delay
from backend.notifications.models import PushDevice, PushJob
from backend.notifications.providers import PushProvider, SendResult, Verdict
from shared.enums import DevicePlatform, PushOutcome, PushStatus

log = logging.getLogger(__name__)

DUE = (PushStatus.pending, PushStatus.sending)
_wakers: set[asyncio.Event] = set()


async def wake_dispatchers() -> None:
    """A job was committed: dispatchers in this process look now instead of at the next poll.
    (Dispatchers in other processes find it at their next poll.)"""
    for event in list(_wakers):
        event.set()


def build_providers(settings: Settings) -> dict[str, PushProvider]:
    """The providers with credentials configured. Call inside the running event loop."""
    providers: dict[str, PushProvider] = {}
    if settings.apns_configured:
        from backend.notifications.providers.apns import APNsProvider

        providers[DevicePlatform.ios] = APNsProvider(settings)
    if settings.fcm_configured:
        from backend.notifications.providers.fcm import FCMProvider

        providers[DevicePlatform.android] = FCMProvider(settings)
    return providers


@dataclass
class _Target:
    device_id: uuid.UUID
    platform: str
    token: str


@dataclass
class _Plan:
    """What the read phase decided for one job."""

    message: payloads.PushMessage | None = None
    targets: list[_Target] = field(default_factory=list)
    unsupported: list[uuid.UUID] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        providers: Mapping[str, PushProvider],
        *,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.providers = dict(providers)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(settings.push_concurrency)

    # -- running ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until `stop` is set (or the task is cancelled): claim, send, record; when nothing is
        due, wait for a wake-up or the poll interval."""
        stop = stop or asyncio.Event()
        _wakers.add(self._wake)
        try:
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("push dispatch round failed; retrying shortly")
                    handled = 0
                if handled:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        _first(self._wake, stop), timeout=self.settings.push_poll_seconds
                    )
        finally:
            _wakers.discard(self._wake)

    async def drain(self) -> int:
        """Handle due jobs until none is left (tests, `--once`). Returns how many."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def run_once(self) -> int:
        claimed = await self.claim()
        if claimed:
            await asyncio.gather(*(self._guarded(job_id) for job_id in claimed))
        return len(claimed)

    async def _guarded(self, job_id: uuid.UUID) -> None:
        async with self._limit:
            try:
                await self.process(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The lease runs out and the job is claimed again: retried, not lost.
                log.exception("push job %s failed in the dispatcher", job_id)

    # -- claiming -----------------------------------------------------------------------------

    async def claim(self) -> list[uuid.UUID]:
        now = self.clock()
        async with self.db.session() as session:
            statement = (
                select(PushJob.id)
                .where(PushJob.status.in_(DUE), PushJob.next_attempt_at <= now)
                .order_by(PushJob.next_attempt_at)
                .limit(self.settings.push_batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                statement = statement.with_for_update(skip_locked=True)
            ids = list((await session.scalars(statement)).all())
            if ids:
                await session.execute(
                    update(PushJob)
                    .where(PushJob.id.in_(ids))
                    .values(
                        status=PushStatus.sending,
                        attempts=PushJob.attempts + 1,
                        claimed_by=self.name,
                        next_attempt_at=now + timedelta(seconds=self.settings.push_lease_seconds),
                    )
                    .execution_options(synchronize_session=False)
                )
            await session.commit()
        return ids

    # -- one job ------------------------------------------------------------------------------

    async def process(self, job_id: uuid.UUID) -> None:
        plan = await self._plan(job_id)
        if plan is None:
            return
        results: list[tuple[_Target, SendResult]] = []
        if plan.targets:
            assert plan.message is not None
            sent = await asyncio.gather(
                *(self.providers[t.platform].send(t.token, plan.message) for t in plan.targets)
            )
            results = list(zip(plan.targets, sent, strict=True))
        await self._record(job_id, plan, results)

    async def _plan(self, job_id: uuid.UUID) -> _Plan | None:
        """Read phase: decide whether and where to send. Jobs that need no sending are finished
        here. Returns None when there is nothing (more) to do."""
        now = self.clock()
        async with self.db.session() as session:
            job = await session.get(PushJob, job_id)
            if job is None or job.status != PushStatus.sending or job.claimed_by != self.name:
                return None
            user = await session.get(User, job.user_id)
            if user is None or not user.is_active:
                self._finish(job, PushStatus.skipped, PushOutcome.no_devices, "account inactive")
                await session.commit()
                return None
            prefs = await preference_rules.effective(
                session, user, self.settings.push_default_timezone
            )
            decision = preference_rules.push_decision(
                prefs, category=job.category, urgent=job.urgent, now=now
            )
            if not decision.send:
                if decision.defer_until is not None:
                    job.status = PushStatus.pending
                    job.attempts = max(0, job.attempts - 1)
                    job.next_attempt_at = decision.defer_until
                    job.outcome = PushOutcome.quiet_hours
                    job.claimed_by = None
                else:
                    self._finish(job, PushStatus.skipped, PushOutcome.category_off, None)
                await session.commit()
                return None
            done = set(job.done_device_ids)
            active = await device_rules.active_devices(session, job.user_id)
            devices = [d for d in active if str(d.id) not in done]
            plan = _Plan()
            for device in devices:
                if device.platform in self.providers:
                    plan.targets.append(_Target(device.id, device.platform, device.token))
                else:
                    plan.unsupported.append(device.id)
            if not plan.targets:
                outcome = _nothing_to_send(job, active)
                status = PushStatus.sent if job.sent_at else PushStatus.skipped
                if outcome == PushOutcome.tokens_invalid:
                    status = PushStatus.failed
                self._finish(job, status, outcome, None)
                await session.commit()
                return None
            unread_notifications, unread_messages = await payloads.unread_badge(
                session, job.user_id
            )
            plan.message = payloads.build(job, unread_notifications + unread_messages)
            await session.commit()
        return plan

    async def _record(
        self, job_id: uuid.UUID, plan: _Plan, results: list[tuple[_Target, SendResult]]
    ) -> None:
        """Write phase: what each device's provider answered, and the job's next state."""
        now = self.clock()
        async with self.db.session() as session:
            job = await session.get(PushJob, job_id)
            if job is None:
                return
            done = list(job.done_device_ids)
            retry: list[SendResult] = []
            delivered = False
            for target, result in results:
                if result.verdict == Verdict.delivered:
                    done.append(str(target.device_id))
                    delivered = True
                elif result.verdict == Verdict.invalid_token:
                    done.append(str(target.device_id))
                    await device_rules.deactivate(session, target.device_id, result.reason)
                else:
                    retry.append(result)
            done.extend(str(d) for d in plan.unsupported)
            job.done_device_ids = done
            if delivered and job.sent_at is None:
                job.sent_at = now
            if retry:
                reasons = "; ".join(sorted({r.reason for r in retry}))[:300]
                if job.attempts >= self.settings.push_max_attempts:
                    status = PushStatus.sent if job.sent_at else PushStatus.failed
                    self._finish(job, status, PushOutcome.gave_up, reasons)
                else:
                    after = max((r.retry_after or 0.0) for r in retry) or None
                    delay = retry_delay(
                        job.attempts,
                        base=self.settings.push_backoff_base_seconds,
                        maximum=self.settings.push_backoff_max_seconds,
                        retry_after=after,
                    )
                    job.status = PushStatus.pending
                    job.next_attempt_at = now + timedelta(seconds=delay)
                    job.retries += 1
                    job.outcome = PushOutcome.retrying
                    job.last_error = reasons
                    job.claimed_by = None
            elif job.sent_at is not None:
                self._finish(job, PushStatus.sent, PushOutcome.delivered, job.last_error)
            else:
                devices = list(
                    (
                        await session.scalars(
                            select(PushDevice).where(PushDevice.user_id == job.user_id)
                        )
                    ).all()
                )
                outcome = _nothing_to_send(job, [d for d in devices if d.active])
                status = (
                    PushStatus.failed
                    if outcome == PushOutcome.tokens_invalid
                    else PushStatus.skipped
                )
                self._finish(job, status, outcome, job.last_error)
            await session.commit()

    @staticmethod
    def _finish(job: PushJob, status: PushStatus, outcome: PushOutcome, error: str | None) -> None:
        job.status = status
        job.outcome = outcome
        job.last_error = error


def _nothing_to_send(job: PushJob, active: list[PushDevice]) -> PushOutcome:
    """Why a job that reached no device (this time) ends."""
    if job.sent_at is not None:
        return PushOutcome.delivered
    if not active:
        return PushOutcome.tokens_invalid if job.done_device_ids else PushOutcome.no_devices
    if all(d.platform == DevicePlatform.web for d in active):
        return PushOutcome.in_app_only
    return PushOutcome.no_provider


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()

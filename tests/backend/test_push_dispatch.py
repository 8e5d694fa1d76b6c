"""The dispatcher with the real aioapns and pyfcm clients against the local fake APNs (HTTP/2,
TLS) and fake FCM (OAuth + messages:send), on SQLite and PostgreSQL."""

import json
from datetime import UTC, datetime, time

import pytest

from backend.core.db import Database
from backend.notifications import service as notifications
from backend.notifications.metrics import push_metrics
from backend.notifications.models import NotificationPreference, PushDevice
from shared.enums import NotificationCategory, PushOutcome, PushStatus
from tests import factories as f
from tests.backend.push_helpers import (
    DIAGNOSES,
    PATIENT_MESSAGE,
    Clock,
    add_device,
    all_jobs,
    build_team,
    close,
    jobs_for,
    make_dispatcher,
    push_settings,
)
from tests.fakes.stack import PushFakes


async def _notify(db: Database, user, category=NotificationCategory.reminders, urgent=False):
    async with db.session() as session:
        notifications.notify(
            session,
            user_id=user.id,
            category=category,
            title="Reminder",
            body="You have a reminder.",
            link="/plan",
            urgent=urgent,
            push=True,
        )
        await session.commit()


async def test_message_pushes_reach_devices_without_phi(db_url, db: Database, fakes: PushFakes):
    settings = push_settings(db_url, fakes)
    team = await build_team(db)
    ios = await add_device(db, team.patient_user, "ios")
    android = await add_device(db, team.care_manager, "android")
    await add_device(db, team.navigator, "web")
    # The patient writes (the team is offline: push jobs for both), then the care manager
    # (a job for the patient; none again for the navigator, who has not read the first one:
    # one notification per conversation until it is read).
    await f.send_message(db, settings, team.thread, team.patient_user, PATIENT_MESSAGE)
    await f.send_message(db, settings, team.thread, team.care_manager, "Rosa, call us today.")
    dispatcher = make_dispatcher(db, settings)
    try:
        assert await dispatcher.drain() == 3
    finally:
        await close(dispatcher)

    assert not fakes.apns.problems and not fakes.fcm.problems
    [apns] = fakes.apns.requests
    assert apns.token == ios.token and apns.status == 200
    assert apns.headers["apns-priority"] == "5" and apns.headers["apns-push-type"] == "alert"
    assert apns.headers["apns-collapse-id"] == f"conversation:{team.thread.id}"
    assert apns.payload["aps"]["alert"]["body"] == "You have a new secure message"
    assert apns.payload["aps"]["badge"] >= 1
    assert apns.payload["link"] == f"/messages/{team.thread.id}"
    [fcm] = [r for r in fakes.fcm.requests if r.message["token"] == android.token]
    assert fcm.message["notification"]["body"] == "You have a new secure message"
    assert fcm.message["android"]["priority"] == "normal"
    assert fcm.message["data"]["link"] == f"/messages/{team.thread.id}"

    phi = [PATIENT_MESSAGE, "swollen", "metformin", "Rosa", "Quintero", team.patient.mrn]
    phi += [d for d in DIAGNOSES] + ["diabetes", "heart"]
    recorded = [r.raw.decode() for r in fakes.apns.requests + fakes.fcm.requests]
    recorded += [json.dumps(r.headers) for r in fakes.apns.requests]
    for text in recorded:
        for secret in phi:
            assert secret.lower() not in text.lower(), f"{secret!r} reached a push provider"

    outcomes = {
        (j.user_id, j.outcome)
        for j in await all_jobs(db)
        if j.user_id in (team.patient_user.id, team.care_manager.id, team.navigator.id)
    }
    assert (team.patient_user.id, PushOutcome.delivered) in outcomes
    assert (team.care_manager.id, PushOutcome.delivered) in outcomes
    assert (team.navigator.id, PushOutcome.in_app_only) in outcomes


async def test_retry_after_503_then_success(db_url, db: Database, fakes: PushFakes):
    settings = push_settings(db_url, fakes)
    team = await build_team(db)
    await add_device(db, team.patient_user, "ios")
    await _notify(db, team.patient_user)
    clock = Clock()
    dispatcher = make_dispatcher(db, settings, clock)
    fakes.apns.fail_next(1, 503, "ServiceUnavailable")
    try:
        assert await dispatcher.drain() == 1
        [job] = await jobs_for(db, team.patient_user)
        assert job.status == PushStatus.pending and job.outcome == PushOutcome.retrying
        assert job.retries == 1 and "503" in job.last_error
        wait = (job.next_attempt_at - clock.now).total_seconds()
        assert 0.5 <= wait <= 1.0  # base 1 s, first retry: jittered in [base/2, base]
        assert await dispatcher.drain() == 0  # not due yet
        clock.advance(wait + 0.01)
        assert await dispatcher.drain() == 1
    finally:
        await close(dispatcher)
    [job] = await jobs_for(db, team.patient_user)
    assert job.status == PushStatus.sent and job.outcome == PushOutcome.delivered
    assert job.attempts == 2
    assert [r.status for r in fakes.apns.requests] == [503, 200]


async def test_retry_after_header_is_honoured(db_url, db: Database, fakes: PushFakes):
    settings = push_settings(db_url, fakes)
    team = await build_team(db)
    await add_device(db, team.care_manager, "android")
    await _notify(db, team.care_manager)
    clock = Clock()
    dispatcher = make_dispatcher(db, settings, clock)
    fakes.fcm.fail_next(1, 429, "QUOTA_EXCEEDED", retry_after="120")
    try:
        await dispatcher.drain()
        [job] = await jobs_for(db, team.care_manager)
        assert job.status == PushStatus.pending
        assert (job.next_attempt_at - clock.now).total_seconds() >= 120
        clock.advance(90)
        assert await dispatcher.drain() == 0
        clock.advance(50)
        assert await dispatcher.drain() == 1
    finally:
        await close(dispatcher)
    assert [r.status for r in fakes.fcm.requests] == [429, 200]
    assert (await jobs_for(db, team.care_manager))[0].status == PushStatus.sent


async def test_gives_up_after_bounded_attempts(db_url, db: Database, fakes: PushFakes):
    settings = push_settings(db_url, fakes, push_max_attempts=3)
    team = await build_team(db)
    await add_device(db, team.patient_user, "ios")
    await _notify(db, team.patient_user)
    clock = Clock()
    dispatcher = make_dispatcher(db, settings, clock)
    fakes.apns.fail_next(10, 500, "InternalServerError")
    try:
        for _ in range(5):
            await dispatcher.drain()
            clock.advance(3600)
    finally:
        await close(dispatcher)
    [job] = await jobs_for(db, team.patient_user)
    assert job.status == PushStatus.failed and job.outcome == PushOutcome.gave_up
    assert job.attempts == 3 and "500 InternalServerError" in job.last_error
    assert len(fakes.apns.requests) == 3


async def test_rejected_tokens_are_deactivated(db_url, db: Database, fakes: PushFakes):
    settings = push_settings(db_url, fakes)
    team = await build_team(db)
    gone = await add_device(db, team.patient_user, "ios")
    bad = await add_device(db, team.patient_user, "ios")
    fcm_gone = await add_device(db, team.care_manager, "android")
    fcm_bad = await add_device(db, team.care_manager, "android")
    fakes.apns.unregistered.add(gone.token)
    fakes.apns.bad_tokens.add(bad.token)
    fakes.fcm.unregistered.add(fcm_gone.token)
    fakes.fcm.bad_tokens.add(fcm_bad.token)
    await _notify(db, team.patient_user)
    await _notify(db, team.care_manager)
    dispatcher = make_dispatcher(db, settings)
    try:
        await dispatcher.drain()
        await _notify(db, team.patient_user)  # the next push does not try them again
        await dispatcher.drain()
    finally:
        await close(dispatcher)
    assert len(fakes.apns.requests) == 2 and len(fakes.fcm.requests) == 2
    async with db.session() as session:
        for device in (gone, bad, fcm_gone, fcm_bad):
            fresh = await session.get(PushDevice, device.id)
            assert fresh is not None and not fresh.active and fresh.deactivated_reason
        metrics = await push_metrics(session, organization_id=team.org.id)
    jobs = await jobs_for(db, team.patient_user)
    assert [j.outcome for j in jobs] == [PushOutcome.tokens_invalid, PushOutcome.no_devices]
    assert metrics.deactivated_tokens == 4 and metrics.failed >= 2


async def test_quiet_hours_defer_then_deliver(db_url, db: Database, fakes: PushFakes):
    settings = push_settings(db_url, fakes)
    team = await build_team(db)
    await add_device(db, team.patient_user, "ios")
    async with db.session() as session:
        session.add(
            NotificationPreference(
                user_id=team.patient_user.id,
                quiet_hours_start=time(22, 0),
                quiet_hours_end=time(7, 0),
                timezone="America/Chicago",
            )
        )
        await session.commit()
    # 23:30 in Chicago (CST, UTC-6) on a winter night.
    clock = Clock(datetime(2027, 1, 15, 5, 30, tzinfo=UTC))
    await _notify(db, team.patient_user, urgent=True)  # an urgent reminder still waits
    dispatcher = make_dispatcher(db, settings, clock)
    try:
        assert await dispatcher.drain() == 1
        [job] = await jobs_for(db, team.patient_user)
        assert job.status == PushStatus.pending and job.outcome == PushOutcome.quiet_hours
        assert job.next_attempt_at == datetime(2027, 1, 15, 13, 0, tzinfo=UTC)  # 07:00 CST
        assert job.attempts == 0 and not fakes.apns.requests
        clock.now = datetime(2027, 1, 15, 13, 0, 1, tzinfo=UTC)
        assert await dispatcher.drain() == 1
    finally:
        await close(dispatcher)
    [job] = await jobs_for(db, team.patient_user)
    assert job.status == PushStatus.sent and len(fakes.apns.requests) == 1


async def test_urgent_staff_alert_overrides_quiet_hours(db_url, db: Database, fakes: PushFakes):
    settings = push_settings(db_url, fakes)
    team = await build_team(db)
    await add_device(db, team.care_manager, "android")
    async with db.session() as session:
        session.add(
            NotificationPreference(
                user_id=team.care_manager.id,
                quiet_hours_start=time(0, 0),
                quiet_hours_end=time(23, 59),
                timezone="UTC",
            )
        )
        await session.commit()
    clock = Clock(datetime(2027, 3, 2, 12, 0, tzinfo=UTC))
    await _notify(db, team.care_manager, category=NotificationCategory.alerts, urgent=True)
    await _notify(db, team.care_manager, category=NotificationCategory.alerts, urgent=False)
    dispatcher = make_dispatcher(db, settings, clock)
    try:
        await dispatcher.drain()
    finally:
        await close(dispatcher)
    [urgent] = fakes.fcm.requests
    assert urgent.message["android"]["priority"] == "high"
    assert urgent.message["notification"]["body"].startswith("Urgent")
    outcomes = sorted(str(j.outcome) for j in await jobs_for(db, team.care_manager))
    assert outcomes == [PushOutcome.delivered, PushOutcome.quiet_hours]


async def test_switched_off_category_is_not_pushed(db_url, db: Database, fakes: PushFakes):
    settings = push_settings(db_url, fakes)
    team = await build_team(db)
    await add_device(db, team.patient_user, "ios")
    async with db.session() as session:
        session.add(NotificationPreference(user_id=team.patient_user.id, messages=False))
        await session.commit()
    await f.send_message(db, settings, team.thread, team.care_manager, "Please call the clinic.")
    await _notify(db, team.patient_user, category=NotificationCategory.security)
    dispatcher = make_dispatcher(db, settings)
    try:
        await dispatcher.drain()
    finally:
        await close(dispatcher)
    jobs = await jobs_for(db, team.patient_user)
    by_category = {j.category: (j.status, j.outcome) for j in jobs}
    assert by_category["messages"] == (PushStatus.skipped, PushOutcome.category_off)
    assert by_category["security"] == (PushStatus.sent, PushOutcome.delivered)
    assert len(fakes.apns.requests) == 1
    async with db.session() as session:  # the in-app notification is still there
        listed = await notifications.list_for(
            session, principal=type("P", (), {"id": team.patient_user.id})()
        )
    assert {n.category for n in listed} == {"messages", "security"}


async def test_without_provider_credentials_jobs_end_as_no_provider(db_url, db: Database):
    settings = push_settings(db_url, None)  # neither APNs nor FCM configured
    team = await build_team(db)
    await add_device(db, team.patient_user, "ios")
    await _notify(db, team.patient_user)
    await _notify(db, team.care_manager)  # no device at all
    dispatcher = make_dispatcher(db, settings)
    assert await dispatcher.drain() == 2
    assert await dispatcher.drain() == 0  # settled, not hot-looping
    assert [j.outcome for j in await jobs_for(db, team.patient_user)] == [PushOutcome.no_provider]
    assert [j.outcome for j in await jobs_for(db, team.care_manager)] == [PushOutcome.no_devices]


async def test_a_lapsed_lease_is_claimed_again(db_url, db: Database, fakes: PushFakes):
    """A dispatcher that claimed a job and vanished: after its lease another one sends it."""
    settings = push_settings(db_url, fakes, push_lease_seconds=30)
    team = await build_team(db)
    await add_device(db, team.patient_user, "ios")
    await _notify(db, team.patient_user)
    clock = Clock()
    crashed = make_dispatcher(db, settings, clock, name="crashed")
    survivor = make_dispatcher(db, settings, clock, name="survivor")
    try:
        assert len(await crashed.claim()) == 1  # ...and never sends or records
        assert await survivor.drain() == 0
        clock.advance(31)
        assert await survivor.drain() == 1
        await crashed.process((await jobs_for(db, team.patient_user))[0].id)  # too late: no-op
    finally:
        await close(crashed)
        await close(survivor)
    [job] = await jobs_for(db, team.patient_user)
    assert job.status == PushStatus.sent and job.attempts == 2
    assert len(fakes.apns.requests) == 1


@pytest.mark.parametrize("platform", ["ios", "android"])
async def test_test_push_ignores_quiet_hours(db_url, db: Database, fakes: PushFakes, platform):
    from backend.identity.permissions import Principal

    settings = push_settings(db_url, fakes)
    team = await build_team(db)
    await add_device(db, team.patient_user, platform)
    async with db.session() as session:
        session.add(
            NotificationPreference(
                user_id=team.patient_user.id,
                quiet_hours_start=time(0, 0),
                quiet_hours_end=time(23, 59),
                timezone="UTC",
            )
        )
        queued = await notifications.queue_test_push(
            session, principal=Principal(user=team.patient_user, session_id=team.patient_user.id)
        )
        await session.commit()
    assert queued.devices == 1
    dispatcher = make_dispatcher(db, settings, Clock(datetime(2027, 3, 2, 12, tzinfo=UTC)))
    try:
        await dispatcher.drain()
    finally:
        await close(dispatcher)
    delivered = fakes.apns.delivered() + fakes.fcm.delivered()
    assert len(delivered) == 1
    [job] = await jobs_for(db, team.patient_user)
    assert job.status == PushStatus.sent and job.category == NotificationCategory.test

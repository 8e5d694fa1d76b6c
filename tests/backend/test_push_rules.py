"""The push rules that need no database: back-off, quiet hours, payload text, provider answers."""

import random
import uuid
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest
import requests

from backend.notifications.backoff import retry_delay
from backend.notifications.models import NotificationPreference
from backend.notifications.payloads import GENERIC_TEXT, PushMessage, generic_text
from backend.notifications.preferences import (
    EffectivePreferences,
    push_decision,
    quiet_hours_end,
)
from backend.notifications.providers import Verdict, parse_retry_after
from backend.notifications.providers.apns import apns_payload
from backend.notifications.providers.fcm import classify
from shared.enums import NotificationCategory

CHICAGO = ZoneInfo("America/Chicago")


def test_backoff_grows_with_jitter_and_a_cap():
    rng = random.Random(7)
    delays = [retry_delay(n, base=2, maximum=60, rng=rng) for n in range(1, 9)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(60, 2 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)


def test_retry_after_is_a_floor():
    rng = random.Random(1)
    assert retry_delay(1, base=2, maximum=60, retry_after=120, rng=rng) >= 120
    assert parse_retry_after("30") == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("soon") is None


@pytest.mark.parametrize(
    ("local", "expected_end"),
    [
        (datetime(2027, 1, 15, 23, 30), datetime(2027, 1, 16, 7, 0)),
        (datetime(2027, 1, 16, 6, 59), datetime(2027, 1, 16, 7, 0)),
        (datetime(2027, 1, 16, 7, 0), None),
        (datetime(2027, 1, 15, 12, 0), None),
        (datetime(2027, 3, 14, 1, 30), datetime(2027, 3, 14, 7, 0)),  # the night DST starts
    ],
)
def test_quiet_hours_across_midnight(local, expected_end):
    now = local.replace(tzinfo=CHICAGO).astimezone(UTC)
    end = quiet_hours_end(now, time(22, 0), time(7, 0), CHICAGO)
    if expected_end is None:
        assert end is None
    else:
        assert end == expected_end.replace(tzinfo=CHICAGO).astimezone(UTC)


def _prefs(is_staff: bool, **values) -> EffectivePreferences:
    row = NotificationPreference(
        user_id=uuid.uuid4(), quiet_hours_start=time(0, 0), quiet_hours_end=time(23, 59), **values
    )
    return EffectivePreferences(row=row, zone=ZoneInfo("UTC"), zone_name="UTC", is_staff=is_staff)


def test_who_may_break_quiet_hours():
    noon = datetime(2027, 3, 2, 12, tzinfo=UTC)
    alerts, reminders = NotificationCategory.alerts, NotificationCategory.reminders
    assert push_decision(_prefs(True), category=alerts, urgent=True, now=noon).send
    assert not push_decision(_prefs(True), category=alerts, urgent=False, now=noon).send
    assert not push_decision(_prefs(True), category=reminders, urgent=True, now=noon).send
    assert not push_decision(_prefs(False), category=alerts, urgent=True, now=noon).send
    opted_out = _prefs(True, urgent_overrides_quiet_hours=False)
    assert not push_decision(opted_out, category=alerts, urgent=True, now=noon).send
    off = _prefs(False, education=False)
    decision = push_decision(off, category=NotificationCategory.education, urgent=False, now=noon)
    assert not decision.send and decision.defer_until is None


def test_push_text_is_fixed_by_category():
    assert generic_text("messages", False) == "You have a new secure message"
    assert generic_text("reminders", True) == "You have a reminder"
    assert generic_text("something-new", False) == "You have a new notification"
    assert all(len(text) < 60 for text in GENERIC_TEXT.values())
    message = PushMessage(uuid.uuid4(), "alerts", "CareCircle", "x", 4, True, None, None, None)
    payload = apns_payload(message)
    assert payload["aps"]["interruption-level"] == "time-sensitive"
    assert payload["aps"]["badge"] == 4


def _response(status: int, body: dict, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = httpx.Response(status, json=body).content
    response.headers.update(headers or {})
    return response


def test_fcm_answers():
    assert classify(_response(200, {"name": "x"})).verdict == Verdict.delivered
    gone = {"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}
    assert classify(_response(404, gone)).verdict == Verdict.invalid_token
    invalid = {"error": {"status": "INVALID_ARGUMENT"}}
    assert classify(_response(400, invalid)).verdict == Verdict.invalid_token
    busy = classify(_response(503, {"error": {"status": "UNAVAILABLE"}}, {"Retry-After": "9"}))
    assert busy.verdict == Verdict.retry and busy.retry_after == 9

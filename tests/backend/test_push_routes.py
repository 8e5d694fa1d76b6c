"""Push devices, preferences, the notification center and metrics through the API; devices
removed on sign-out; new notifications delivered live over the person's websocket."""

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from backend.core.db import Database, commit
from backend.notifications import service as notifications
from backend.notifications.models import PushDevice, PushJob
from shared.enums import NotificationCategory, Role
from tests import factories as f
from tests.backend.access_helpers import headers_for
from tests.backend.push_helpers import build_team
from tests.backend.test_realtime import (  # noqa: F401  (fixtures)
    bus,
    open_socket,
    server,
)

IOS_TOKEN = "a1" * 32


async def _devices(db: Database) -> list[PushDevice]:
    async with db.session() as session:
        return list((await session.scalars(select(PushDevice))).all())


async def test_register_list_move_and_remove_devices(client: httpx.AsyncClient, db, settings):
    team = await build_team(db)
    patient = await headers_for(db, settings, team.patient_user)
    body = {"platform": "ios", "token": IOS_TOKEN, "app_version": "1.4.0", "locale": "es-US"}
    created = await client.post("/notifications/devices", json=body, headers=patient)
    assert created.status_code == 201, created.text
    assert created.json()["this_device"] and created.json()["token_suffix"] == IOS_TOKEN[-6:]
    again = await client.post("/notifications/devices", json=body, headers=patient)
    assert again.json()["id"] == created.json()["id"]
    listed = (await client.get("/notifications/devices", headers=patient)).json()
    assert listed["count"] == 1 and "token" not in listed["data"][0]

    # The phone changes hands: the token now pushes to the new person only.
    navigator = await headers_for(db, settings, team.navigator)
    moved = await client.post("/notifications/devices", json=body, headers=navigator)
    assert moved.status_code == 201
    assert (await client.get("/notifications/devices", headers=patient)).json()["count"] == 0
    [device] = await _devices(db)
    assert device.user_id == team.navigator.id

    gone = await client.delete(f"/notifications/devices/{device.id}", headers=patient)
    assert gone.status_code == 404  # not theirs any more
    assert (
        await client.delete(f"/notifications/devices/{device.id}", headers=navigator)
    ).status_code == 204
    assert await _devices(db) == []


async def test_bad_device_registrations_are_refused(client: httpx.AsyncClient, db, settings):
    team = await build_team(db)
    patient = await headers_for(db, settings, team.patient_user)
    for body in (
        {"platform": "blackberry", "token": IOS_TOKEN},
        {"platform": "ios", "token": "short"},
        {"platform": "ios", "token": "has spaces in it <script>"},
    ):
        response = await client.post("/notifications/devices", json=body, headers=patient)
        assert response.status_code == 422, body


async def test_sign_out_removes_that_devices_token(client: httpx.AsyncClient, db, settings):
    team = await build_team(db)
    phone = await headers_for(db, settings, team.patient_user)
    tablet = await headers_for(db, settings, team.patient_user)
    for headers, token in ((phone, "b2" * 32), (tablet, "c3" * 32)):
        response = await client.post(
            "/notifications/devices", json={"platform": "ios", "token": token}, headers=headers
        )
        assert response.status_code == 201
    assert (await client.post("/auth/logout", headers=phone)).status_code == 204
    assert [d.token for d in await _devices(db)] == ["c3" * 32]

    other = await headers_for(db, settings, team.patient_user)
    await client.post(
        "/notifications/devices", json={"platform": "android", "token": "d4" * 32}, headers=other
    )
    assert (await client.post("/auth/logout-all", headers=other)).status_code == 204
    assert await _devices(db) == []


async def test_preferences_and_quiet_hours(client: httpx.AsyncClient, db, settings):
    team = await build_team(db)
    patient = await headers_for(db, settings, team.patient_user)
    defaults = (await client.get("/notifications/preferences", headers=patient)).json()
    assert defaults["messages"] and defaults["quiet_hours_start"] is None
    assert defaults["effective_timezone"] == team.patient.timezone  # the record's zone
    changed = await client.patch(
        "/notifications/preferences",
        json={"education": False, "quiet_hours_start": "21:30", "quiet_hours_end": "06:45"},
        headers=patient,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["education"] is False and changed.json()["messages"] is True
    assert changed.json()["quiet_hours_start"] == "21:30:00"
    half = await client.patch(
        "/notifications/preferences", json={"quiet_hours_start": "22:00"}, headers=patient
    )
    assert half.status_code == 422 and half.json()["error"]["code"] == "quiet_hours_incomplete"
    zone = await client.patch(
        "/notifications/preferences", json={"timezone": "Mars/Olympus"}, headers=patient
    )
    assert zone.status_code == 422 and zone.json()["error"]["code"] == "invalid_timezone"
    staff = await headers_for(db, settings, team.care_manager)
    mine = (await client.get("/notifications/preferences", headers=staff)).json()
    assert mine["effective_timezone"] == settings.push_default_timezone
    off = await client.patch(
        "/notifications/preferences",
        json={"quiet_hours_start": None, "quiet_hours_end": None},
        headers=patient,
    )
    assert off.json()["quiet_hours_start"] is None


async def test_notification_center_and_badge(client: httpx.AsyncClient, db, settings):
    team = await build_team(db)
    await f.send_message(db, settings, team.thread, team.care_manager, "Please call us.")
    patient = await headers_for(db, settings, team.patient_user)
    page = (await client.get("/notifications?unread=true", headers=patient)).json()
    [entry] = page["data"]
    assert entry["link"] == f"/messages/{team.thread.id}" and entry["read_at"] is None
    badge = (await client.get("/notifications/unread", headers=patient)).json()
    assert badge == {"notifications": 1, "messages": 1, "badge": 2}
    read = await client.post(f"/notifications/{entry['id']}/read", headers=patient)
    assert read.status_code == 204
    assert (await client.get("/notifications/unread", headers=patient)).json()["badge"] == 1
    await client.post("/notifications/read-all", headers=patient)
    assert (await client.get("/notifications?unread=true", headers=patient)).json()["count"] == 0


async def test_test_push_and_metrics(client: httpx.AsyncClient, db, settings):
    team = await build_team(db)
    patient = await headers_for(db, settings, team.patient_user)
    await client.post(
        "/notifications/devices", json={"platform": "ios", "token": IOS_TOKEN}, headers=patient
    )
    first = await client.post("/notifications/test-push", headers=patient)
    second = await client.post("/notifications/test-push", headers=patient)
    assert first.status_code == 202 and first.json()["devices"] == 1
    assert second.json()["job_id"] == first.json()["job_id"]  # one waiting test at a time
    admin = await f.create_user(db, team.org, Role.admin)
    metrics = await client.get(
        "/notifications/metrics", headers=await headers_for(db, settings, admin)
    )
    assert metrics.status_code == 200
    assert metrics.json()["queued"] == 1 and metrics.json()["active_devices"] == 1
    refused = await client.get("/notifications/metrics", headers=patient)
    assert refused.status_code == 403


async def test_new_notification_arrives_live(app: FastAPI, db, open_socket):  # noqa: F811
    team = await build_team(db)
    socket = await open_socket(team.care_manager)
    async with db.session() as session:
        session.info["hub"] = app.state.hub
        notifications.notify(
            session,
            user_id=team.care_manager.id,
            category=NotificationCategory.alerts,
            title="Urgent alert",
            body="A patient on your team needs attention.",
            link=f"/patients/{team.patient.id}",
            urgent=True,
            push=True,
        )
        await commit(session)
    frame = await socket.expect("notification")
    assert frame["notification"]["link"] == f"/patients/{team.patient.id}"
    assert frame["notification"]["urgent"] is True
    async with db.session() as session:
        assert len((await session.scalars(select(PushJob))).all()) == 1

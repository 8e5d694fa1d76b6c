"""The notification center store, driven without a screen: first against a stand-in API, then
against the real backend."""

import asyncio
import uuid
from datetime import UTC, datetime, time

import pytest

from mobile_app.api.client import ApiError
from mobile_app.stores.messages import new_client_id
from mobile_app.stores.notifications import NotificationsStore, parse_clock
from mobile_app.stores.patients import LoadState
from shared.schemas.common import Page
from shared.schemas.messaging import MessageCreate
from shared.schemas.notifications import (
    NotificationPreferencesPublic,
    NotificationPreferencesUpdate,
    NotificationPublic,
    PushTestQueued,
)
from tests.mobile_app.client_support import ClientFactory, SignedIn


def _notification(link: str | None = "/messages/abc", read: bool = False) -> NotificationPublic:
    return NotificationPublic(
        id=uuid.uuid4(),
        category="messages",
        title="New secure message",
        body="You have a new secure message in CareCircle.",
        link=link,
        urgent=False,
        created_at=datetime.now(UTC),
        read_at=datetime.now(UTC) if read else None,
    )


class StubApi:
    def __init__(self) -> None:
        self.listed = [_notification(), _notification(read=True)]
        self.read: list[str] = []
        self.updates: list[dict] = []
        self.devices = 1

    async def list_notifications(self):
        return Page(data=self.listed, count=len(self.listed))

    async def mark_notification_read(self, notification_id: str) -> None:
        self.read.append(notification_id)

    async def mark_all_notifications_read(self) -> None:
        self.read.append("all")

    async def update_notification_preferences(self, body):
        changes = body.model_dump(exclude_unset=True)
        self.updates.append(changes)
        if changes.get("quiet_hours_start") == time(3, 0):
            raise ApiError(422, "invalid", "Refused by the server.")
        return NotificationPreferencesPublic(
            effective_timezone="America/New_York", in_quiet_hours=False, **changes
        )

    async def send_test_push(self):
        return PushTestQueued(job_id=uuid.uuid4(), devices=self.devices)


async def test_load_open_and_live_frames():
    api = StubApi()
    store = NotificationsStore(api)  # type: ignore[arg-type]
    await store.load()
    assert store.state == LoadState.loaded and store.unread == 1
    first = store.items[0]
    assert await store.open(first.id) == "/messages/abc"
    assert api.read == [str(first.id)] and store.unread == 0

    live = _notification(link="/messages/xyz")
    frame = {"type": "notification", "notification": live.model_dump(mode="json")}
    store.on_frame(frame)
    store.on_frame(frame)  # the same one again (reconnect) is not listed twice
    store.on_frame({"type": "message.created", "message": {}})
    store.on_frame({"type": "notification", "notification": {"id": "not-a-uuid"}})
    assert [n.id for n in store.items][:1] == [live.id] and len(store.items) == 3
    assert store.unread == 1
    await store.mark_all_read()
    assert store.unread == 0 and api.read[-1] == "all"


async def test_preferences_and_test_push():
    api = StubApi()
    store = NotificationsStore(api)  # type: ignore[arg-type]
    await store.set_category("education", False)
    assert api.updates[-1] == {"education": False}
    assert await store.set_quiet_hours("22:00", "07:00")
    assert api.updates[-1] == {"quiet_hours_start": time(22), "quiet_hours_end": time(7)}
    assert not await store.set_quiet_hours("22:00", "")
    assert "both" in (store.error or "")
    assert not await store.set_quiet_hours("3:00", "4:00")
    assert store.error == "Refused by the server."
    assert not await store.set_quiet_hours("late", "07:00")
    assert parse_clock("") is None
    await store.send_test_push()
    assert store.notice and "1 device" in store.notice
    api.devices = 0
    await store.send_test_push()
    assert store.notice and "No phone" in store.notice
    store.reset()
    assert store.items == [] and store.preferences is None


async def test_urgent_override_and_dismissing_messages():
    api = StubApi()
    store = NotificationsStore(api)  # type: ignore[arg-type]
    assert await store.set_urgent_override(False)
    assert api.updates[-1] == {"urgent_overrides_quiet_hours": False}
    assert store.preferences is not None and not store.preferences.urgent_overrides_quiet_hours
    await store.send_test_push()
    assert store.test_push_devices == 1
    store.dismiss_messages()
    assert store.notice is None and store.error is None and store.test_push_devices is None


# -- the real store against the real backend --------------------------------------------------


async def test_a_message_while_away_is_listed_opened_and_leads_to_its_conversation(
    make_client: ClientFactory, signed_in: SignedIn
):
    """A navigator writes while the patient has no socket open: the patient's store lists the
    notification, opening it marks it read on the server and returns the conversation link."""
    # A client an earlier test left signed in (e.g. the browser tests' app) has a live socket,
    # and a person with a live socket gets no notification: end every session first.
    earlier = make_client()
    await signed_in("robert.johnson", api=earlier)
    await earlier.logout_all()
    patient_api = make_client()
    patient = await signed_in("robert.johnson", api=patient_api)
    assert patient.me is not None and patient.me.patient_id is not None
    thread = await patient_api.care_team_thread(str(patient.me.patient_id))
    navigator_api = make_client()
    await signed_in("james.carter", api=navigator_api)
    store = NotificationsStore(patient_api)
    link = f"/messages/{thread.id}"
    waiting: list = []
    for _ in range(10):  # closed sockets go away just after the sign-out answers
        await navigator_api.send_message(
            str(thread.id),
            MessageCreate(body="Your lab results are in.", client_id=new_client_id()),
        )
        await store.load()
        waiting = [n for n in store.items if n.link == link and n.read_at is None]
        if waiting:
            break
        await asyncio.sleep(0.3)
    assert waiting, [n.link for n in store.items]
    assert waiting[0].title == "New secure message" and store.unread >= 1
    assert await store.open(waiting[0].id) == link
    assert store.error is None
    unread = await patient_api.list_notifications()
    assert all(n.id != waiting[0].id or n.read_at is not None for n in unread.data)
    await store.mark_all_read()
    assert store.unread == 0 and (await patient_api.unread_count()).notifications == 0


async def test_preferences_persist_on_the_server(make_client: ClientFactory, signed_in: SignedIn):
    api = make_client()
    await signed_in("aisha.khan", api=api)
    store = NotificationsStore(api)
    await store.load_preferences()
    assert store.preferences is not None and store.preferences.effective_timezone
    before = store.preferences
    try:
        await store.set_category("education", False)
        assert await store.set_quiet_hours("21:30", "06:30")
        assert await store.set_urgent_override(False)
        saved = await api.notification_preferences()
        assert not saved.education and not saved.urgent_overrides_quiet_hours
        assert (saved.quiet_hours_start, saved.quiet_hours_end) == (time(21, 30), time(6, 30))
        with pytest.raises(ValueError):
            await store.set_category("security", False)
        assert not await store.set_quiet_hours("25:00", "06:00")
        assert store.error
        assert await store.set_quiet_hours("", "")
        assert (await api.notification_preferences()).quiet_hours_start is None
    finally:
        await api.update_notification_preferences(
            NotificationPreferencesUpdate(
                education=before.education,
                urgent_overrides_quiet_hours=before.urgent_overrides_quiet_hours,
            )
        )

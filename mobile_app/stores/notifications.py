"""The notification center as one person sees it, and their push preferences.

The list comes from the server (GET /notifications) and new entries arrive live as
`notification` frames over the websocket (`on_frame`); an entry already listed is not added
twice. Opening an entry marks it read and returns where it leads (`/messages/<conversation id>`
and the like), for the view to navigate to. Web clients register no push token (no web push);
the test-push button pushes to the person's phones and tablets.

`reset` forgets everything on sign-out.
"""

import uuid
from datetime import UTC, datetime, time
from typing import Any

from pydantic import ValidationError

from mobile_app.api.client import ApiClient, ApiError
from mobile_app.stores.observable import Observable
from mobile_app.stores.patients import LoadState
from shared.enums import OPTIONAL_CATEGORIES
from shared.schemas.messaging import ServerFrameType
from shared.schemas.notifications import (
    NotificationPreferencesPublic,
    NotificationPreferencesUpdate,
    NotificationPublic,
)

CATEGORY_LABELS = {
    "messages": "Secure messages",
    "reminders": "Reminders",
    "assessments": "Questionnaires",
    "education": "Reading from your care team",
}


def parse_clock(text: str) -> time | None:
    """ "22:00" -> 22:00; empty -> None; anything else raises ValueError with a plain reason."""
    text = text.strip()
    if not text:
        return None
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{text!r} is not a time; write it like 22:00.") from None


class NotificationsStore(Observable):
    def __init__(self, api: ApiClient) -> None:
        super().__init__()
        self._api = api
        self.reset(notify=False)

    def reset(self, *, notify: bool = True) -> None:
        self.state = LoadState.idle
        self.items: list[NotificationPublic] = []
        self.error: str | None = None
        self.preferences: NotificationPreferencesPublic | None = None
        self.notice: str | None = None
        self.test_push_devices: int | None = None
        """How many devices the last test push went to (None: no test sent, or it failed)."""
        if notify:
            self._notify()

    @property
    def unread(self) -> int:
        return sum(1 for n in self.items if n.read_at is None)

    def dismiss_messages(self) -> None:
        """Forget the last error and outcome, so a screen opened later starts clean."""
        self.error = self.notice = None
        self.test_push_devices = None

    # -- the list -----------------------------------------------------------------------------

    async def load(self) -> None:
        self.state, self.error = LoadState.loading, None
        self._notify()
        try:
            page = await self._api.list_notifications()
        except ApiError as exc:
            self.state, self.error = LoadState.failed, exc.message
        else:
            self.items, self.state = list(page.data), LoadState.loaded
        self._notify()

    def on_frame(self, frame: dict[str, Any]) -> None:
        """A websocket frame; only `notification` frames concern this store."""
        if frame.get("type") != ServerFrameType.notification:
            return
        try:
            notification = NotificationPublic.model_validate(frame["notification"])
        except (KeyError, ValidationError):
            return
        if any(n.id == notification.id for n in self.items):
            return
        self.items.insert(0, notification)
        self._notify()

    async def open(self, notification_id: uuid.UUID) -> str | None:
        """Mark read and say where the notification leads (None: nowhere in particular)."""
        notification = next((n for n in self.items if n.id == notification_id), None)
        if notification is None:
            return None
        if notification.read_at is None:
            try:
                await self._api.mark_notification_read(str(notification_id))
            except ApiError as exc:
                self.error = exc.message
            else:
                now = _now()
                self.items = [
                    n.model_copy(update={"read_at": now}) if n.id == notification_id else n
                    for n in self.items
                ]
            self._notify()
        return notification.link

    async def mark_all_read(self) -> None:
        try:
            await self._api.mark_all_notifications_read()
        except ApiError as exc:
            self.error = exc.message
        else:
            now = _now()
            self.items = [
                n if n.read_at else n.model_copy(update={"read_at": now}) for n in self.items
            ]
        self._notify()

    # -- preferences --------------------------------------------------------------------------

    async def load_preferences(self) -> None:
        try:
            self.preferences = await self._api.notification_preferences()
        except ApiError as exc:
            self.error = exc.message
        self._notify()

    async def set_category(self, category: str, enabled: bool) -> None:
        if category not in OPTIONAL_CATEGORIES:
            raise ValueError(f"{category} cannot be switched off")
        await self._save(NotificationPreferencesUpdate(**{category: enabled}))

    async def set_quiet_hours(self, start: str, end: str) -> bool:
        """Both times ("22:00", "07:00"), or both empty to turn quiet hours off."""
        try:
            begins, ends = parse_clock(start), parse_clock(end)
        except ValueError as exc:
            self.error = str(exc)
            self._notify()
            return False
        if (begins is None) != (ends is None):
            self.error = "Set both the start and the end of quiet hours, or neither."
            self._notify()
            return False
        return await self._save(
            NotificationPreferencesUpdate(quiet_hours_start=begins, quiet_hours_end=ends)
        )

    async def set_urgent_override(self, enabled: bool) -> bool:
        """Staff: whether urgent care-team alerts still come through during quiet hours."""
        return await self._save(NotificationPreferencesUpdate(urgent_overrides_quiet_hours=enabled))

    async def _save(self, update: NotificationPreferencesUpdate) -> bool:
        try:
            self.preferences = await self._api.update_notification_preferences(update)
        except ApiError as exc:
            self.error = exc.message
            self._notify()
            return False
        self.error = None
        self._notify()
        return True

    async def send_test_push(self) -> None:
        try:
            queued = await self._api.send_test_push()
        except ApiError as exc:
            self.error, self.notice, self.test_push_devices = exc.message, None, None
        else:
            self.error, self.test_push_devices = None, queued.devices
            self.notice = (
                f"Test notification sent to {queued.devices} device(s)."
                if queued.devices
                else "No phone or tablet is registered for notifications yet. Sign in on the "
                "CareCircle app on your phone, then try again."
            )
        self._notify()


def _now() -> datetime:
    return datetime.now(UTC)

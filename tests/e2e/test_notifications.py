"""The notification center and notification settings in a real browser: a patient who was away
when their navigator wrote sees the bell's badge, opens the center, taps the notification and
lands in the conversation; then switches a notification category off in Profile, and the
server keeps it."""

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OpenApp
from tests.e2e.helpers import DEMO_PASSWORD, DESKTOP, by_id, nav, save_screenshot, sign_in

pytestmark = pytest.mark.e2e

NAVIGATOR = "james.carter@riverside.example"
PATIENT = "robert.johnson@riverside.example"


class Api:
    """One person signed in to the REST API with httpx, as another device would be."""

    def __init__(self, api_url: str, email: str) -> None:
        self.http = httpx.Client(base_url=f"{api_url}/api/v1", timeout=10)
        login = self.http.post("/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        login.raise_for_status()
        self.user = login.json()["user"]
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def get(self, path: str) -> dict:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()

    def sign_out_everywhere(self) -> None:
        """End every session of this person, closing the live sockets of any client an earlier
        test left signed in: a person with a live socket gets no notification for a message."""
        self.http.post("/auth/logout-all").raise_for_status()
        self.http.close()

    def close(self) -> None:
        self.http.post("/auth/logout")
        self.http.close()


def test_a_message_while_away_leads_from_the_bell_to_the_conversation(
    open_app: OpenApp, artifacts: Path, api_url: str
) -> None:
    Api(api_url, PATIENT).sign_out_everywhere()
    patient_api = Api(api_url, PATIENT)
    navigator_api = Api(api_url, NAVIGATOR)
    before = patient_api.get("/notifications/preferences")
    try:
        thread = patient_api.get(f"/patients/{patient_api.user['patient_id']}/care-team-thread")
        conversation_id = thread["id"]
        link = f"/messages/{conversation_id}"
        patient_api.http.post("/notifications/read-all").raise_for_status()  # start from zero
        # The patient has no app open: the navigator's message becomes a notification. (The
        # sockets closed by signing out everywhere go away just after that answer, so a
        # message sent in that instant may still find one: a few tries, each a new message.)
        waiting: list[dict] = []
        for _ in range(10):
            text = f"Your lab results are in; nothing to worry about. ({uuid.uuid4().hex[:4]})"
            sent = navigator_api.http.post(
                f"/conversations/{conversation_id}/messages",
                json={"body": text, "client_id": uuid.uuid4().hex},
            )
            sent.raise_for_status()
            waiting = [
                n
                for n in patient_api.get("/notifications?unread=true")["data"]
                if n["link"] == link
            ]
            if waiting:
                break
            time.sleep(0.3)
        assert waiting, "the API made no notification for the patient"
        notification_id = waiting[0]["id"]

        page = open_app(*DESKTOP)
        sign_in(page, PATIENT)
        expect(by_id(page, "notifications-badge")).to_be_visible()
        bell = by_id(page, "notifications-button")
        expect(bell.get_by_role("button")).to_have_text("Notifications, 1 unread")
        expect(by_id(page, "notifications-badge")).to_have_text("1")

        bell.click()
        expect(by_id(page, "notification-list")).to_be_visible()
        tile = by_id(page, f"notification-{notification_id}")
        expect(tile).to_have_attribute(
            "aria-label",
            re.compile(
                r"^Unread\. New secure message\. You have a new secure message in CareCircle"
            ),
        )
        expect(by_id(page, "notifications-summary")).to_have_text("1 unread")
        expect(by_id(page, "mark-all-read")).to_be_visible()
        save_screenshot(page, artifacts / "notifications_center.png")

        tile.click()
        expect(by_id(page, "notification-list")).to_have_count(0)
        expect(by_id(page, "thread")).to_be_visible()
        seq = next(
            m["seq"]
            for m in patient_api.get(f"/conversations/{conversation_id}/messages")["data"]
            if m["body"] == text
        )
        expect(by_id(page, f"message-{seq}")).to_be_visible()
        expect(by_id(page, "notifications-badge")).to_have_count(0)
        read = next(
            n for n in patient_api.get("/notifications")["data"] if n["id"] == notification_id
        )
        assert read["read_at"] is not None

        # With nothing unread, the center says so and offers nothing to mark.
        bell.click()
        expect(by_id(page, "notifications-summary")).to_have_text("You're all caught up")
        expect(by_id(page, "mark-all-read")).to_have_count(0)
        page.get_by_role("button", name=re.compile("^Close")).click()
        expect(by_id(page, "notification-list")).to_have_count(0)

        # Profile: switch off pushes for reading material; the server keeps the choice.
        nav(page, "Profile").click()
        # Tall enough for the whole section: Flutter leaves controls scrolled out of view out
        # of the accessibility tree, where tests cannot find them.
        page.set_viewport_size({"width": DESKTOP[0], "height": 1240})
        expect(by_id(page, "notification-preferences")).to_be_visible()
        expect(by_id(page, "notification-pref-always-on")).to_contain_text("can't be turned off")
        education = by_id(page, "notification-pref-education").get_by_role("switch")
        expect(education).to_have_attribute("aria-checked", "true")
        education.click()
        expect(education).to_have_attribute("aria-checked", "false")
        for _ in range(50):
            if not patient_api.get("/notifications/preferences")["education"]:
                break
            time.sleep(0.2)
        assert patient_api.get("/notifications/preferences")["education"] is False
        # Quiet hours: on, from the suggested 10 PM to 7 AM, in the person's time zone.
        quiet = by_id(page, "quiet-hours").get_by_role("switch")
        quiet.click()
        expect(quiet).to_have_attribute("aria-checked", "true")
        for _ in range(50):
            if patient_api.get("/notifications/preferences")["quiet_hours_start"]:
                break
            time.sleep(0.2)
        saved = patient_api.get("/notifications/preferences")
        assert (saved["quiet_hours_start"], saved["quiet_hours_end"]) == ("22:00:00", "07:00:00")
        expect(by_id(page, "quiet-hours-start")).to_be_visible()
        expect(by_id(page, "quiet-hours-end")).to_be_visible()
        expect(by_id(page, "quiet-hours-zone")).to_contain_text(saved["effective_timezone"])

        by_id(page, "test-push-button").click()
        expect(by_id(page, "test-push-result")).to_contain_text("No phone or tablet")
        expect(by_id(page, "test-push-result")).to_be_visible()
        save_screenshot(page, artifacts / "notifications_preferences.png")
    finally:
        patient_api.http.patch(
            "/notifications/preferences",
            json={
                "education": before["education"],
                "quiet_hours_start": before["quiet_hours_start"],
                "quiet_hours_end": before["quiet_hours_end"],
            },
        )
        patient_api.close()
        navigator_api.close()

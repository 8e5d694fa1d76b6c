"""A navigator on a tablet and a patient exchange messages live in the patient's care-team
thread, each in their own browser, through the real client, API and websocket."""

import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import OpenApp
from tests.e2e.helpers import DEMO_PASSWORD, DESKTOP, PHONE, by_id, nav, save_screenshot, sign_in

pytestmark = pytest.mark.e2e

TABLET = (1024, 768)
NAVIGATOR = "james.carter@riverside.example"
PATIENT = "robert.johnson@riverside.example"
LIVE_MS = 15_000


def care_team_thread_id(api_url: str) -> str:
    """Robert's care-team conversation, as the API names it (created on first use)."""
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=10) as http:
        login = http.post("/auth/login", json={"email": PATIENT, "password": DEMO_PASSWORD})
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        patient_id = login.json()["user"]["patient_id"]
        thread = http.get(f"/patients/{patient_id}/care-team-thread", headers=auth)
        thread.raise_for_status()
        http.post("/auth/logout", headers=auth)
    return thread.json()["id"]


def open_thread(page: Page, conversation_id: str) -> None:
    nav(page, "Messages").click()
    tile = by_id(page, f"conversation-{conversation_id}")
    expect(tile).to_be_visible()
    tile.click()
    expect(by_id(page, "thread")).to_be_visible()


def bubble(page: Page, api_url: str, conversation_id: str, text: str) -> Locator:
    """The bubble of the message with `text`, found by its seq (`message-<seq>`) as the API
    stored it: a bubble's words are its node's label, which text locators do not read."""
    page.bring_to_front()  # a background page does not paint, so its semantics lag
    seq = None
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=10) as http:
        login = http.post("/auth/login", json={"email": PATIENT, "password": DEMO_PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(50):
            page_ = http.get(f"/conversations/{conversation_id}/messages", headers=auth).json()
            seq = next((m["seq"] for m in page_["data"] if m["body"] == text), None)
            if seq is not None:
                break
            time.sleep(0.2)
        http.post("/auth/logout", headers=auth)
    assert seq is not None, f"the API never stored {text!r}"
    return by_id(page, f"message-{seq}")


def write(page: Page, text: str) -> None:
    """Type into the composer like a person (Flutter's inputs ignore `.fill()`). A key can be
    lost while the field takes focus (more so on a busy machine), so the composer is cleared
    and the text typed again until the field holds exactly `text`."""
    page.bring_to_front()
    editor = page.locator("textarea:focus, input:focus")
    for _ in range(3):
        by_id(page, "message-input").click()
        try:
            expect(editor).to_have_count(1, timeout=2_000)
        except AssertionError:
            continue
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(text, delay=10)
        try:
            expect(editor).to_have_value(text, timeout=3_000)
            return
        except AssertionError:
            continue
    expect(editor).to_have_value(text)


def send(page: Page) -> None:
    by_id(page, "send-button").click()


def test_navigator_and_patient_message_each_other_live(
    open_app: OpenApp, artifacts: Path, api_url: str
) -> None:
    conversation_id = care_team_thread_id(api_url)
    navigator = open_app(*TABLET)
    sign_in(navigator, NAVIGATOR)
    open_thread(navigator, conversation_id)
    # A tablet shows the list and the thread side by side.
    expect(by_id(navigator, "conversation-list")).to_be_visible()

    patient = open_app(*DESKTOP)
    sign_in(patient, PATIENT)
    open_thread(patient, conversation_id)
    expect(by_id(patient, "safety-line")).to_contain_text("In an emergency, call 911.")
    expect(by_id(navigator, "safety-line")).to_have_count(0)

    question = f"Should I take my metformin before breakfast? ({uuid.uuid4().hex[:4]})"
    write(patient, question)
    send(patient)
    expect(bubble(patient, api_url, conversation_id, question)).to_be_visible(timeout=LIVE_MS)
    expect(bubble(navigator, api_url, conversation_id, question)).to_be_visible(timeout=LIVE_MS)

    # The navigator has the thread on screen, so the patient sees it was read.
    patient.bring_to_front()
    expect(by_id(patient, "seen-by")).to_contain_text("James Carter", timeout=LIVE_MS)

    answer = f"Yes, with food. I will call you tomorrow. ({uuid.uuid4().hex[:4]})"
    write(navigator, answer[:20])
    patient.bring_to_front()
    typing = by_id(patient, "typing-indicator")
    expect(typing).to_contain_text("James Carter is typing", timeout=LIVE_MS)
    write(navigator, answer)
    send(navigator)
    expect(bubble(patient, api_url, conversation_id, answer)).to_be_visible(timeout=LIVE_MS)
    navigator.bring_to_front()
    expect(by_id(navigator, "seen-by")).to_contain_text("Robert Johnson", timeout=LIVE_MS)

    save_screenshot(navigator, artifacts / "messaging_navigator.png")
    patient.bring_to_front()
    save_screenshot(patient, artifacts / "messaging_patient.png")


def test_a_phone_shows_the_list_then_the_thread(
    open_app: OpenApp, artifacts: Path, api_url: str
) -> None:
    conversation_id = care_team_thread_id(api_url)
    page = open_app(*PHONE)
    sign_in(page, PATIENT)
    nav(page, "Messages").click()
    tile = by_id(page, f"conversation-{conversation_id}")
    expect(tile).to_be_visible()
    expect(by_id(page, "thread")).to_have_count(0)  # one pane at a time

    tile.click()
    expect(by_id(page, "thread")).to_be_visible()
    expect(by_id(page, "safety-line")).to_be_visible()
    back = by_id(page, "back-button")
    expect(back).to_be_visible()
    text = f"Sent from my phone ({uuid.uuid4().hex[:4]})"
    write(page, text)
    send(page)
    expect(bubble(page, api_url, conversation_id, text)).to_be_visible(timeout=LIVE_MS)
    save_screenshot(page, artifacts / "messaging_phone.png")

    back.click()
    expect(tile).to_be_visible()

"""Robert checks off a metformin dose on Today and reads an assigned article; a care manager
adds a goal to his plan, saves it as a new version, and reads his adherence."""

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import OpenApp
from tests.e2e.helpers import DEMO_PASSWORD, DESKTOP, by_id, nav, save_screenshot, sign_in

pytestmark = pytest.mark.e2e

MANAGER = "maria.lopez@riverside.example"
PATIENT = "robert.johnson@riverside.example"
UI_MS = 20_000


def robert_today(api_url: str) -> tuple[str, list[dict], list[str]]:
    """Robert's id, Today's items and the slugs of his assigned articles, from the API."""
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=10) as http:
        login = http.post("/auth/login", json={"email": PATIENT, "password": DEMO_PASSWORD})
        login.raise_for_status()
        patient_id = login.json()["user"]["patient_id"]
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        items = http.get(f"/patients/{patient_id}/today", headers=auth).json()["items"]
        articles = http.get(f"/patients/{patient_id}/articles", headers=auth).json()["data"]
        http.post("/auth/logout", headers=auth)
    return patient_id, items, [a["article"]["slug"] for a in articles]


def type_in(page: Page, control: Locator, text: str) -> None:
    """Click into a field found by its identifier and type, checking that the text arrived."""
    field = control.locator("input, textarea").first
    for _ in range(4):
        control.click()
        try:
            expect(field).to_be_focused(timeout=3_000)
        except AssertionError:
            continue
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(text)
        try:
            expect(field).to_have_value(text, timeout=2_000)
        except AssertionError:
            continue
        return
    expect(field).to_have_value(text)


def test_patient_marks_a_dose_and_reads_an_article(
    open_app: OpenApp, artifacts: Path, api_url: str
) -> None:
    _, items, slugs = robert_today(api_url)
    dose = next(i for i in items if i["kind"] == "medication" and i["status"] == "due")
    page = open_app(*DESKTOP)
    sign_in(page, PATIENT)
    expect(by_id(page, "today-plan")).to_be_visible(timeout=UI_MS)
    by_id(page, f"done-{dose['key']}").click()
    expect(by_id(page, f"done-{dose['key']}")).to_have_count(0, timeout=UI_MS)
    expect(by_id(page, "today-plan")).to_have_attribute(
        "aria-label", re.compile(r"1 of \d+ done"), timeout=UI_MS
    )
    save_screenshot(page, artifacts / "careplan_today.png")

    nav(page, "Learn").click()
    article = by_id(page, f"article-{slugs[0]}")
    expect(article).to_be_visible(timeout=UI_MS)
    article.click()
    reader = by_id(page, "article-reader")
    expect(reader).to_be_visible(timeout=UI_MS)
    expect(by_id(page, "ask-question")).to_be_visible()
    expect(page.get_by_text("I have a question")).to_be_visible()
    save_screenshot(page, artifacts / "careplan_article.png")


def test_care_manager_adds_a_goal_and_reads_adherence(
    open_app: OpenApp, artifacts: Path, api_url: str
) -> None:
    patient_id, _, _ = robert_today(api_url)
    page = open_app(DESKTOP[0], 1000)
    sign_in(page, MANAGER)
    by_id(page, f"care-plan-{patient_id}").click()
    expect(by_id(page, "plan-editor")).to_be_visible(timeout=UI_MS)
    expect(by_id(page, "plan-patient")).to_contain_text("Robert Johnson", timeout=UI_MS)
    expect(by_id(page, "goal-0")).to_be_visible(timeout=UI_MS)
    goals = by_id(page, "plan-goals").locator("[flt-semantics-identifier$='-title']")
    count = goals.count()
    by_id(page, "plan-add-goal").click()
    new_goal = by_id(page, f"goal-{count}-title")
    expect(new_goal).to_be_visible(timeout=UI_MS)
    type_in(page, new_goal, "Walk 20 minutes after dinner")
    type_in(page, by_id(page, f"goal-{count}-measure"), "Walks a week")
    type_in(page, by_id(page, f"goal-{count}-target"), "5 walks")
    by_id(page, "plan-save").click()
    expect(by_id(page, "plan-editor-banner")).to_contain_text("Saved as version", timeout=UI_MS)
    by_id(page, f"goal-{count}").scroll_into_view_if_needed()
    save_screenshot(page, artifacts / "careplan_editor.png")

    by_id(page, "plan-tab-adherence").click()
    expect(by_id(page, "adherence-overall")).to_be_visible(timeout=UI_MS)
    expect(by_id(page, "adherence-medications").get_by_role("progressbar")).to_have_attribute(
        "aria-label", re.compile("Metformin"), timeout=UI_MS
    )
    save_screenshot(page, artifacts / "careplan_adherence.png")

    by_id(page, "plan-tab-history").click()
    expect(by_id(page, "plan-history")).to_be_visible(timeout=UI_MS)

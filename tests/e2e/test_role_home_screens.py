"""Each demo role signs in through a real browser and lands on its own home screen.

The expectations come from the running backend (GET /me, GET /patients), not from copies of
the seed data, so the test checks that the screen shows what the API says.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import QUICK_LOCK_SECONDS, OpenApp
from tests.e2e.helpers import (
    DEMO_PASSWORD,
    DESKTOP,
    PHONE,
    by_family_name,
    care_team_of,
    nav,
    patients_seen_by,
    save_screenshot,
    sign_in,
    signed_in_as,
    type_into,
)

pytestmark = pytest.mark.e2e


def test_patient_sees_today_with_their_name(
    open_app: OpenApp, artifacts: Path, api_url: str
) -> None:
    team = care_team_of(api_url, "robert.johnson@riverside.example", "Robert Johnson")
    assert team, "the seed puts Robert on a care team"
    page = open_app(*DESKTOP)
    sign_in(page, "robert.johnson@riverside.example")

    expect(page.get_by_text("Hello, Robert")).to_be_visible()
    expect(signed_in_as(page)).to_contain_text("Robert Johnson")
    for label in ("Today", "Messages", "Care plan", "Learn", "Profile"):
        expect(nav(page, label)).to_be_visible()
    expect(nav(page, "My patients")).to_have_count(0)
    expect(page.get_by_text("Your care team hasn't added anything for today yet")).to_be_visible()
    care_team = page.locator("[flt-semantics-identifier='care-team']")
    for member in team:
        expect(care_team).to_contain_text(member)
    save_screenshot(page, artifacts / "patient_home.png")

    nav(page, "Messages").click()
    conversations = page.locator("[flt-semantics-identifier='conversation-list']")
    expect(conversations.get_by_role("button", name=re.compile("^Your care team"))).to_be_visible()
    nav(page, "Profile").click()
    expect(page.locator("[flt-semantics-identifier='profile-role']")).to_contain_text("Patient")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    login_message = page.locator("[flt-semantics-identifier='login-message']")
    expect(login_message).to_contain_text("You have signed out.")


def test_family_member_picks_whose_care_then_sees_home(open_app: OpenApp, artifacts: Path) -> None:
    page = open_app(*DESKTOP)
    sign_in(page, "linda.johnson@riverside.example")

    expect(page.get_by_text("Whose care are you viewing?")).to_be_visible()
    robert = page.get_by_role("button", name=re.compile("View care for Robert Johnson"))
    evelyn = page.get_by_role("button", name=re.compile("View care for Evelyn Johnson"))
    expect(robert).to_be_visible()
    expect(evelyn).to_be_visible()
    expect(nav(page, "Today")).to_have_count(0)  # no care shown before a choice
    save_screenshot(page, artifacts / "family_picker.png")

    robert.click()
    viewing = page.locator("[flt-semantics-identifier='viewing-patient']")
    expect(viewing).to_have_accessible_name("Viewing care for Robert Johnson")
    expect(nav(page, "Today")).to_be_visible()
    expect(page.get_by_text("Hello, Linda")).to_be_visible()
    save_screenshot(page, artifacts / "family_home.png")

    page.get_by_role("button", name="Switch person").click()
    expect(page.get_by_text("Whose care are you viewing?")).to_be_visible()


@pytest.mark.parametrize(
    ("email", "name", "role_label", "shot"),
    [
        ("james.carter@riverside.example", "James Carter", "Patient navigator", "navigator"),
        ("maria.lopez@riverside.example", "Maria Lopez", "Care manager", "care_manager"),
    ],
)
def test_staff_see_their_real_patient_list(
    open_app: OpenApp,
    artifacts: Path,
    api_url: str,
    email: str,
    name: str,
    role_label: str,
    shot: str,
) -> None:
    expected = by_family_name(patients_seen_by(api_url, email))
    assert len(expected) >= 3, "the seed gives every staff member several patients"

    page = open_app(*DESKTOP)
    sign_in(page, email)

    for label in ("My patients", "Messages", "Assessments", "Profile"):
        expect(nav(page, label)).to_be_visible()
    expect(nav(page, "Today")).to_have_count(0)
    expect(page.get_by_text(f"{len(expected)} patients on your care teams")).to_be_visible()
    expect(signed_in_as(page)).to_contain_text(name)
    expect(signed_in_as(page)).to_contain_text(role_label)
    patient_list = page.locator("[flt-semantics-identifier='patient-list']")
    for patient_name in expected[:4]:
        expect(patient_list.get_by_text(patient_name)).to_be_visible()
    save_screenshot(page, artifacts / f"{shot}_home.png")


def test_phone_width_uses_a_bottom_navigation_bar(open_app: OpenApp, artifacts: Path) -> None:
    width, height = PHONE
    page = open_app(width, height)
    sign_in(page, "robert.johnson@riverside.example")

    today = nav(page, "Today")
    expect(today).to_be_visible()
    box = today.bounding_box()
    assert box is not None
    assert box["y"] > height * 0.8, "on a phone the destinations sit at the bottom"
    save_screenshot(page, artifacts / "patient_home_phone.png")


def test_admin_home_locks_when_idle_and_unlocks_with_the_password(
    open_quick_lock_app: OpenApp, artifacts: Path
) -> None:
    page = open_quick_lock_app(*DESKTOP)
    sign_in(page, "admin@riverside.example")

    expect(nav(page, "Audit log")).to_be_visible()
    expect(nav(page, "Profile")).to_be_visible()
    expect(nav(page, "My patients")).to_have_count(0)
    entries = page.locator("[flt-semantics-identifier='audit-log-list']")
    expect(entries.get_by_text("Sign-in").first).to_be_visible()
    expect(entries.get_by_text("Riley Morgan").first).to_be_visible()
    page.get_by_role("button", name="Verify integrity").click()
    verified = page.locator("[flt-semantics-identifier='audit-verify-result']")
    expect(verified).to_contain_text(re.compile(r"Chain intact: [\d,]+ entries checked"))
    save_screenshot(page, artifacts / "admin_home.png")

    # Hands off: the client checks every few seconds and locks once the idle time has passed.
    locked = page.get_by_text("CareCircle is locked")
    expect(locked).to_be_visible(timeout=(QUICK_LOCK_SECONDS + 20) * 1000)
    expect(nav(page, "Audit log")).to_have_count(0)  # nothing of the app shows behind the lock
    save_screenshot(page, artifacts / "lock_screen.png")

    type_into(page, "Password", "Not-The-Password-1")
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator("[flt-semantics-identifier='lock-message']")).to_be_visible()
    expect(locked).to_be_visible()

    type_into(page, "Password", DEMO_PASSWORD)
    page.get_by_role("button", name="Unlock").click()
    expect(nav(page, "Audit log")).to_be_visible()
    expect(locked).to_have_count(0)

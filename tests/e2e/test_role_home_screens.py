"""Each demo role signs in through a real browser and lands on its own home screen.

The expectations come from the running backend (GET /me, GET /patients), not from copies of
the seed data, so the test checks that the screen shows what the API says.
"""

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import QUICK_LOCK_SECONDS, OpenApp

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "Demo-Care-2026"
SIGN_IN_TIMEOUT_MS = 15_000
DESKTOP = (1280, 800)
PHONE = (390, 844)


def type_into(page: Page, label: str, text: str) -> None:
    """Type like a person: Flutter's inputs ignore `.fill()`.

    Flutter can drop the first key when it arrives while the field is still taking focus, so
    the text is checked and, if a key went missing, typed again from scratch.
    """
    field = page.get_by_role("textbox", name=label)
    for _ in range(3):
        field.click()
        expect(field).to_be_focused()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(text)
        try:
            expect(field).to_have_value(text, timeout=2_000)
        except AssertionError:
            continue
        return
    expect(field).to_have_value(text)


def sign_in(page: Page, email: str) -> None:
    """Type the credentials and press Sign in, as a person would.

    Synthetic typing is faster than any person: if the client's copy of a field had not caught
    up when the click arrived, the screen asks for the email and password again, and the test
    does what the person would do, once.
    """
    banner = page.locator("[flt-semantics-identifier='login-message']")
    button = page.get_by_role("button", name="Sign in")
    for attempt in range(2):
        type_into(page, "Email address", email)
        type_into(page, "Password", DEMO_PASSWORD)
        button.click()
        try:
            expect(button).to_have_count(0, timeout=SIGN_IN_TIMEOUT_MS)
            return
        except AssertionError:
            shown = banner.evaluate_all(
                "nodes => nodes.map(n => n.getAttribute('aria-label') || n.textContent)"
            )
            if attempt == 0 and any("Enter your email" in text for text in shown):
                continue
            raise AssertionError(
                f"signing in as {email} did not finish; the screen says {shown}"
            ) from None


def save_screenshot(page: Page, path: Path) -> None:
    """Save once the picture stops changing: Flutter paints after the semantics tree (which
    the assertions read) is updated, so an immediate shot can still show the last screen."""
    previous = b""
    for _ in range(12):
        current = page.screenshot()
        if current == previous:
            break
        previous = current
        page.wait_for_timeout(250)
    path.write_bytes(previous)


def care_team_of(api_url: str, email: str, patient_name: str) -> list[str]:
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=10) as http:
        login = http.post("/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        patients = http.get("/patients", headers=auth).json()["data"]
        patient_id = next(p["id"] for p in patients if p["full_name"] == patient_name)
        team = http.get(f"/patients/{patient_id}/care-team", headers=auth).json()["data"]
        http.post("/auth/logout", headers=auth)
    return [member["full_name"] for member in team]


def signed_in_as(page: Page) -> Locator:
    return page.locator("[flt-semantics-identifier='signed-in-as']")


def nav(page: Page, label: str) -> Locator:
    """A navigation destination: a tab of the phone's bottom bar, or a rail button that
    Flutter names e.g. "Today Tab 1 of 5"."""
    in_rail = page.get_by_role("button", name=re.compile(rf"^{re.escape(label)} Tab \d"))
    return page.get_by_role("tab", name=label, exact=True).or_(in_rail)


def patients_seen_by(api_url: str, email: str) -> list[str]:
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=10) as http:
        login = http.post("/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        login.raise_for_status()
        token = login.json()["access_token"]
        listing = http.get("/patients", headers={"Authorization": f"Bearer {token}"})
        listing.raise_for_status()
        names = [p["full_name"] for p in listing.json()["data"]]
        http.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    return names


def by_family_name(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: (n.split()[-1].casefold(), n.casefold()))


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
    expect(page.get_by_text("No messages yet")).to_be_visible()
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

"""What the browser tests share: signing in, typing like a person, navigating, screenshots,
and reading expectations from the running API."""

import re
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page, expect

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
    for _ in range(4):
        field.click()
        try:
            expect(field).to_be_focused(timeout=3_000)
        except AssertionError:
            continue  # the click landed while the screen was still settling: click again
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
    Flutter names e.g. "Today Tab 1 of 5". An unread badge may add its count to the name."""
    name = rf"(^|\s){re.escape(label)}(\s|$)"
    in_rail = page.get_by_role("button", name=re.compile(rf"{name}.*Tab \d"))
    in_bar = page.get_by_role("tab", name=re.compile(name))
    return in_bar.or_(in_rail)


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


def by_id(page: Page, identifier: str) -> Locator:
    """A control by its `ft.Semantics(identifier=...)`."""
    return page.locator(f"[flt-semantics-identifier='{identifier}']")

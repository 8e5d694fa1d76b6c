"""Real servers and a real browser for the end-to-end tests.

The backend is the session's shared `live_api` (tests/conftest.py). The Flet client runs as its
own process in web mode, exactly as `python -m mobile_app` starts it, on a free 127.0.0.1 port.
"""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from backend.core.config import PROJECT_ROOT
from tests.conftest import LiveApi
from tests.live_server import free_port, stop_process, wait_for_http

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CLIENT_STARTUP_SECONDS = 60.0
UI_TIMEOUT_MS = 20_000
QUICK_LOCK_SECONDS = 10
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"

OpenApp = Callable[[int, int], Page]


@contextmanager
def serve_client(api_url: str, log_path: Path, **env_overrides: str) -> Iterator[str]:
    """Run `python -m mobile_app --web` against `api_url`; yield its URL, stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "CARECIRCLE_API_URL": api_url,
        "FLET_FORCE_WEB_SERVER": "true",  # never try to open a browser window
        **env_overrides,
    }
    command = [sys.executable, "-m", "mobile_app", "--web", "--host", "127.0.0.1"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(url, timeout=CLIENT_STARTUP_SECONDS, process=process)
            yield url
        finally:
            stop_process(process)


@pytest.fixture(scope="session")
def api_url(live_api: LiveApi) -> str:
    return live_api.url.rstrip("/")


@pytest.fixture(scope="session")
def client_url(api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_client(api_url, tmp_path_factory.mktemp("client") / "client.log") as url:
        yield url


@pytest.fixture(scope="session")
def quick_lock_client_url(api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A client that locks after a few idle seconds, so the lock can be tested in real time."""
    log_path = tmp_path_factory.mktemp("quick-lock-client") / "client.log"
    with serve_client(
        api_url, log_path, CARECIRCLE_IDLE_LOCK_SECONDS=str(QUICK_LOCK_SECONDS)
    ) as url:
        yield url


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Package-scoped on purpose: Playwright's sync API keeps its own event loop running while
    it is open, and the asyncio tests that run after this package need theirs."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


def _opener(browser: Browser, url: str, contexts: list[BrowserContext]) -> OpenApp:
    def open_at(width: int, height: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(url, timeout=UI_TIMEOUT_MS)
        placeholder = page.locator("flt-semantics-placeholder")
        placeholder.wait_for(state="attached", timeout=60_000)
        placeholder.dispatch_event("click")  # turn on Flutter's accessibility tree
        return page

    return open_at


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether the test body failed, so fixtures can keep a picture of the screen."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


def _close(request: pytest.FixtureRequest, contexts: list[BrowserContext]) -> None:
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, context in enumerate(contexts):
            for page in context.pages:
                name = f"failed-{request.node.name}-{index}.png".replace("/", "_")
                page.screenshot(path=ARTIFACTS / name)
    for context in contexts:
        context.close()


@pytest.fixture
def open_app(
    request: pytest.FixtureRequest, browser: Browser, client_url: str
) -> Iterator[OpenApp]:
    """Open the client in a fresh browser context of the given size, semantics enabled."""
    contexts: list[BrowserContext] = []
    yield _opener(browser, client_url, contexts)
    _close(request, contexts)


@pytest.fixture
def open_quick_lock_app(
    request: pytest.FixtureRequest, browser: Browser, quick_lock_client_url: str
) -> Iterator[OpenApp]:
    contexts: list[BrowserContext] = []
    yield _opener(browser, quick_lock_client_url, contexts)
    _close(request, contexts)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

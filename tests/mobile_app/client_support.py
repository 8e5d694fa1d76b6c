"""Helpers the client tests share: demo logins, a fake clock, a counting transport."""

from collections import Counter
from collections.abc import Awaitable
from typing import Protocol

import httpx

from mobile_app.api.client import ApiClient
from mobile_app.stores.session import SessionStore

DEMO_PASSWORD = "Demo-Care-2026"
DOMAIN = "riverside.example"


def demo_email(local_part: str) -> str:
    return f"{local_part}@{DOMAIN}"


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingTransport(httpx.AsyncBaseTransport):
    """The real network transport, counting requests per path so tests can see refreshes."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.calls: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls[request.url.path.removeprefix("/api/v1")] += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class ClientFactory(Protocol):
    def __call__(self, transport: httpx.AsyncBaseTransport | None = None) -> ApiClient: ...


class SignedIn(Protocol):
    def __call__(
        self, local_part: str, *, api: ApiClient | None = None
    ) -> Awaitable[SessionStore]: ...

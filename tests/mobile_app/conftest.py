"""Fixtures for driving the client's API layer and stores against the real backend."""

from collections.abc import AsyncIterator

import httpx
import pytest

from mobile_app.api.client import ApiClient
from mobile_app.stores.session import SessionStore
from tests.conftest import LiveApi
from tests.mobile_app.client_support import (
    DEMO_PASSWORD,
    ClientFactory,
    FakeClock,
    SignedIn,
    demo_email,
)


@pytest.fixture(scope="session")
def api_url(live_api: LiveApi) -> str:
    """The real backend shared by the whole test session (see tests/conftest.py)."""
    return live_api.url.rstrip("/")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_client(api_url: str, clock: FakeClock) -> AsyncIterator[ClientFactory]:
    """Build API clients that share the test's fake clock; all are closed afterwards."""
    clients: list[ApiClient] = []

    def make(transport: httpx.AsyncBaseTransport | None = None) -> ApiClient:
        client = ApiClient(api_url, clock=clock, transport=transport)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def signed_in(make_client: ClientFactory, clock: FakeClock) -> SignedIn:
    """Sign a demo person in through a fresh session store (on `api` if given)."""

    async def sign_in(local_part: str, *, api: ApiClient | None = None) -> SessionStore:
        store = SessionStore(api or make_client(), clock=clock)
        assert await store.sign_in(demo_email(local_part), DEMO_PASSWORD), store.error
        return store

    return sign_in

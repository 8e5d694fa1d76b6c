"""The API client against the real backend: sign-in, token rotation, retries, typed errors."""

import asyncio
import logging

import httpx
import pytest

from mobile_app.api.client import ApiClient, ApiError
from shared.enums import Role
from tests.mobile_app.client_support import (
    DEMO_PASSWORD,
    ClientFactory,
    CountingTransport,
    FakeClock,
    demo_email,
)


async def test_login_returns_me_and_authorizes_later_calls(make_client: ClientFactory) -> None:
    api = make_client()
    me = await api.login(demo_email("robert.johnson"), DEMO_PASSWORD)
    assert me.role is Role.patient
    assert me.full_name == "Robert Johnson"
    assert me.patient_id is not None
    assert api.has_session

    again = await api.me()
    assert again.id == me.id
    patients = await api.list_patients()
    assert [p.id for p in patients.data] == [me.patient_id]


async def test_wrong_password_raises_the_servers_message(make_client: ClientFactory) -> None:
    api = make_client()
    with pytest.raises(ApiError) as caught:
        await api.login(demo_email("aisha.khan"), "not-the-password")
    error = caught.value
    assert error.status == 401
    assert error.code == "invalid_credentials"
    assert error.message and "token" not in error.message.lower()
    assert not api.has_session


async def test_calls_without_a_session_fail_with_session_ended(make_client: ClientFactory) -> None:
    with pytest.raises(ApiError) as caught:
        await make_client().me()
    assert caught.value.status == 401
    assert caught.value.code == "session_ended"


async def test_unreachable_api_is_a_network_error() -> None:
    api = ApiClient("http://127.0.0.1:9")  # discard port: nothing answers
    try:
        with pytest.raises(ApiError) as caught:
            await api.login(demo_email("robert.johnson"), DEMO_PASSWORD)
        assert caught.value.code == "network_error"
        assert "connection" in caught.value.message
        assert await api.health() is False
    finally:
        await api.aclose()


async def test_refresh_before_expiry_rotates_and_keeps_working(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    transport = CountingTransport()
    api = make_client(transport)
    await api.login(demo_email("james.carter"), DEMO_PASSWORD)
    assert not api.refresh_due()

    seen_refresh_tokens = {api.tokens.refresh_token} if api.tokens else set()
    for round_ in range(1, 4):
        clock.advance(14 * 60 + 1)  # inside the one-minute margin of the 15-minute token
        assert api.refresh_due()
        me = await api.me()
        assert me.full_name == "James Carter"
        assert transport.calls["/auth/refresh"] == round_
        assert api.tokens is not None
        # Each refresh stored the new refresh token; reusing an old one would have revoked
        # the session and made the next round fail.
        assert api.tokens.refresh_token not in seen_refresh_tokens
        seen_refresh_tokens.add(api.tokens.refresh_token)


async def test_concurrent_callers_share_one_refresh(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    transport = CountingTransport()
    api = make_client(transport)
    await api.login(demo_email("maria.lopez"), DEMO_PASSWORD)
    clock.advance(15 * 60)

    results = await asyncio.gather(*(api.me() for _ in range(6)))

    assert {me.full_name for me in results} == {"Maria Lopez"}
    assert transport.calls["/auth/refresh"] == 1
    assert transport.calls["/me"] == 6


async def test_a_rejected_access_token_is_refreshed_once_and_retried(
    make_client: ClientFactory,
) -> None:
    transport = CountingTransport()
    api = make_client(transport)
    await api.login(demo_email("aisha.khan"), DEMO_PASSWORD)
    assert api.tokens is not None
    api.tokens.access_token = "x" * 40  # what a server restart with a new key looks like

    me = await api.me()

    assert me.full_name == "Aisha Khan"
    assert transport.calls["/me"] == 2
    assert transport.calls["/auth/refresh"] == 1


async def test_replaying_a_rotated_refresh_token_ends_the_session(
    make_client: ClientFactory, api_url: str
) -> None:
    api = make_client()
    ended: list[bool] = []
    api.on_session_ended = lambda: ended.append(True)
    await api.login(demo_email("maria.rivera"), DEMO_PASSWORD)
    assert api.tokens is not None
    old_refresh_token = api.tokens.refresh_token

    await api.refresh()
    assert api.tokens is not None and api.tokens.refresh_token != old_refresh_token

    async with httpx.AsyncClient(base_url=f"{api_url}/api/v1") as raw:
        replay = await raw.post("/auth/refresh", json={"refresh_token": old_refresh_token})
    assert replay.status_code == 401

    # The server treats the replay as theft and revokes the whole session, so the client's
    # next rotation fails and it reports the session as ended.
    with pytest.raises(ApiError) as caught:
        await api.refresh()
    assert caught.value.code == "session_ended"
    assert ended == [True]
    assert not api.has_session


async def test_tokens_stay_out_of_logs_and_reprs(
    make_client: ClientFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    api = make_client()
    with caplog.at_level(logging.DEBUG):
        await api.login(demo_email("robert.johnson"), DEMO_PASSWORD)
        assert api.tokens is not None
        first = (api.tokens.access_token, api.tokens.refresh_token)
        clock.advance(15 * 60)
        await api.me()
        assert api.tokens is not None
        second = (api.tokens.access_token, api.tokens.refresh_token)

    printed = caplog.text + repr(api.tokens)
    assert "rotated" in caplog.text  # the client did log the refresh...
    for secret in (*first, *second):
        assert secret not in printed  # ...without the tokens


async def test_logout_revokes_the_refresh_token(make_client: ClientFactory, api_url: str) -> None:
    api = make_client()
    await api.login(demo_email("tom.nguyen"), DEMO_PASSWORD)
    assert api.tokens is not None
    refresh_token = api.tokens.refresh_token

    await api.logout()

    assert not api.has_session
    async with httpx.AsyncClient(base_url=f"{api_url}/api/v1") as raw:
        reuse = await raw.post("/auth/refresh", json={"refresh_token": refresh_token})
    assert reuse.status_code == 401


async def test_an_expired_refresh_token_ends_the_session_without_asking(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    transport = CountingTransport()
    api = make_client(transport)
    ended: list[bool] = []
    api.on_session_ended = lambda: ended.append(True)
    await api.login(demo_email("james.carter"), DEMO_PASSWORD)
    assert api.tokens is not None
    clock.advance(api.tokens.refresh_expires_at - clock() + 1)

    with pytest.raises(ApiError) as caught:
        await api.me()

    assert caught.value.code == "session_ended"
    assert ended == [True]
    assert transport.calls["/auth/refresh"] == 0
    assert transport.calls["/me"] == 0

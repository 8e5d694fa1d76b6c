"""The session store against the real backend: sign-in, idle lock, unlock, sign-out, family."""

import uuid

import pytest

from mobile_app.api.client import ApiError
from mobile_app.stores.session import IDLE_LOCK_SECONDS, SessionStatus, SessionStore
from shared.enums import GrantScope, Role
from tests.mobile_app.client_support import (
    DEMO_PASSWORD,
    ClientFactory,
    FakeClock,
    SignedIn,
    demo_email,
)


async def test_sign_in_starts_an_active_session(signed_in: SignedIn) -> None:
    session = await signed_in("robert.johnson")
    assert session.status is SessionStatus.active
    assert session.me is not None and session.me.role is Role.patient
    assert session.error is None
    viewed = session.viewed_patient
    assert viewed is not None
    assert viewed.patient_id == session.me.patient_id
    assert viewed.name == "Robert Johnson"
    assert viewed.scopes is None  # a patient sees all of their own care
    assert not session.needs_patient_choice


async def test_wrong_password_shows_the_servers_message(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    session = SessionStore(make_client(), clock=clock)
    ok = await session.sign_in(demo_email("aisha.khan"), "Wrong-Password-1")
    assert ok is False
    assert session.status is SessionStatus.signed_out
    assert session.me is None
    assert session.error  # the server's words, shown as they are
    assert not session.busy


async def test_empty_fields_are_refused_before_calling_the_server(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    session = SessionStore(make_client(), clock=clock)
    assert await session.sign_in("   ", "") is False
    assert session.error == "Enter your email address and password."


async def test_listeners_hear_every_change(signed_in: SignedIn) -> None:
    session = await signed_in("james.carter")
    heard: list[SessionStatus] = []
    unsubscribe = session.subscribe(lambda: heard.append(session.status))
    session.lock()
    unsubscribe()
    session.record_activity()
    assert heard == [SessionStatus.locked]


async def test_idle_for_five_minutes_locks(signed_in: SignedIn, clock: FakeClock) -> None:
    session = await signed_in("maria.lopez")
    clock.advance(IDLE_LOCK_SECONDS - 1)
    await session.tick()
    assert session.status is SessionStatus.active

    session.record_activity()  # a tap just before the deadline starts the count again
    clock.advance(IDLE_LOCK_SECONDS - 1)
    await session.tick()
    assert session.status is SessionStatus.active

    clock.advance(1)
    await session.tick()
    assert session.status is SessionStatus.locked
    assert session.me is not None  # the session lives on behind the lock


async def test_activity_while_locked_does_not_unlock(signed_in: SignedIn, clock: FakeClock) -> None:
    session = await signed_in("robert.johnson")
    clock.advance(IDLE_LOCK_SECONDS)
    await session.tick()
    session.record_activity()
    clock.advance(IDLE_LOCK_SECONDS)
    await session.tick()
    assert session.status is SessionStatus.locked


async def test_unlock_needs_the_right_password(signed_in: SignedIn, clock: FakeClock) -> None:
    session = await signed_in("samuel.okafor")
    clock.advance(IDLE_LOCK_SECONDS)
    await session.tick()
    assert session.status is SessionStatus.locked

    assert await session.unlock("Not-My-Password-9") is False
    assert session.status is SessionStatus.locked
    assert session.error

    assert await session.unlock(DEMO_PASSWORD) is True
    assert session.status is SessionStatus.active
    assert session.error is None
    assert session.idle_seconds() == 0


async def test_unlock_after_the_access_token_expired_refreshes_first(
    signed_in: SignedIn, clock: FakeClock
) -> None:
    session = await signed_in("james.carter")
    clock.advance(20 * 60)  # locked long enough for the 15-minute access token to lapse
    await session.tick()
    assert session.status is SessionStatus.locked
    assert await session.unlock(DEMO_PASSWORD) is True
    assert session.status is SessionStatus.active


async def test_tick_refreshes_tokens_while_in_use(
    signed_in: SignedIn, make_client: ClientFactory, clock: FakeClock
) -> None:
    api = make_client()
    session = await signed_in("maria.lopez", api=api)
    assert api.tokens is not None
    before = api.tokens.refresh_token
    for _ in range(4):  # 16 minutes of steady use, one tap every four minutes
        clock.advance(4 * 60)
        session.record_activity()
        await session.tick()
    assert session.status is SessionStatus.active
    assert api.tokens is not None and api.tokens.refresh_token != before


async def test_sign_out_forgets_everything(signed_in: SignedIn, make_client: ClientFactory) -> None:
    api = make_client()
    session = await signed_in("linda.johnson", api=api)
    session.select_patient(session.proxies[0].patient_id)
    await session.sign_out()
    assert session.status is SessionStatus.signed_out
    assert session.me is None
    assert session.viewed_patient is None
    assert session.notice == "You have signed out."
    assert not api.has_session


async def test_sign_out_everywhere_ends_other_devices(
    signed_in: SignedIn, make_client: ClientFactory
) -> None:
    phone = await signed_in("grace.kim")
    tablet_api = make_client()
    tablet = await signed_in("grace.kim", api=tablet_api)

    assert await phone.sign_out_everywhere() is True
    assert phone.status is SessionStatus.signed_out

    # The tablet learns at its next token rotation and returns to the sign-in screen.
    with pytest.raises(ApiError) as caught:
        await tablet_api.refresh()
    assert caught.value.code == "session_ended"
    assert tablet.status is SessionStatus.signed_out
    assert tablet.notice == "Your session has ended. Please sign in again."


async def test_change_password_signs_out_other_devices(
    signed_in: SignedIn, make_client: ClientFactory, clock: FakeClock
) -> None:
    here = await signed_in("carlos.rivera")
    elsewhere_api = make_client()
    elsewhere = await signed_in("carlos.rivera", api=elsewhere_api)
    new_password = "Brand-New-Pass-2026"

    assert await here.change_password(DEMO_PASSWORD, "short", "short") is False
    assert here.error and "10 characters" in here.error
    assert await here.change_password(DEMO_PASSWORD, new_password, new_password + "x") is False
    assert here.error == "The new passwords don't match."

    try:
        assert await here.change_password(DEMO_PASSWORD, new_password, new_password), here.error
        assert here.status is SessionStatus.active
        assert here.notice and "password was changed" in here.notice

        with pytest.raises(ApiError):
            await elsewhere_api.refresh()
        assert elsewhere.status is SessionStatus.signed_out

        fresh = SessionStore(make_client(), clock=clock)
        assert await fresh.sign_in(demo_email("carlos.rivera"), new_password)
    finally:
        # Put the demo password back so other tests (and people) can still sign in.
        assert await here.change_password(new_password, DEMO_PASSWORD, DEMO_PASSWORD), here.error


async def test_family_member_with_two_patients_must_choose(signed_in: SignedIn) -> None:
    session = await signed_in("linda.johnson")
    assert session.role is Role.family
    names = sorted(p.patient_name for p in session.proxies)
    assert names == ["Evelyn Johnson", "Robert Johnson"]
    assert session.needs_patient_choice
    assert session.viewed_patient is None

    robert = next(p for p in session.proxies if p.patient_name == "Robert Johnson")
    session.select_patient(robert.patient_id)
    viewed = session.viewed_patient
    assert viewed is not None and viewed.name == "Robert Johnson"
    assert viewed.relationship == "daughter"
    assert viewed.scopes is not None and GrantScope.messages in viewed.scopes
    assert not session.needs_patient_choice

    session.choose_another_patient()
    assert session.needs_patient_choice

    evelyn = next(p for p in session.proxies if p.patient_name == "Evelyn Johnson")
    session.select_patient(evelyn.patient_id)
    viewed = session.viewed_patient
    assert viewed is not None and viewed.name == "Evelyn Johnson"
    assert viewed.scopes is not None and GrantScope.messages not in viewed.scopes

    with pytest.raises(ValueError):
        session.select_patient(uuid.uuid4())


async def test_family_member_with_one_patient_goes_straight_in(signed_in: SignedIn) -> None:
    session = await signed_in("carlos.rivera")
    assert len(session.proxies) == 1
    assert not session.needs_patient_choice
    viewed = session.viewed_patient
    assert viewed is not None and viewed.name == "Maria Rivera"
    session.choose_another_patient()  # nothing else to choose: stays put
    assert session.viewed_patient == viewed


async def test_family_member_whose_access_ended_sees_no_care(signed_in: SignedIn) -> None:
    session = await signed_in("tom.nguyen")  # his only grant was revoked
    assert session.role is Role.family
    assert session.proxies == []
    assert session.viewed_patient is None
    assert session.needs_patient_choice  # held on the picker, which explains why it is empty

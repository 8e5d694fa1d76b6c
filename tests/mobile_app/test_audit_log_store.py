"""The administrator's audit log store against the real backend.

The admin (Riley Morgan) only reads: no password or grant changes, so the other tests sharing
the live server keep their accounts as they are.
"""

from mobile_app.api.client import ApiClient, ApiError
from mobile_app.stores.audit_log import AuditLogStore, action_filter, action_label
from mobile_app.stores.patients import LoadState
from shared.enums import AuditOutcome
from tests.mobile_app.client_support import DEMO_PASSWORD, ClientFactory, demo_email

ADMIN = "admin"
ADMIN_NAME = "Riley Morgan"


async def signed_in_admin(make_client: ClientFactory) -> ApiClient:
    api = make_client()
    me = await api.login(demo_email(ADMIN), DEMO_PASSWORD)
    assert me.full_name == ADMIN_NAME
    return api


async def test_first_page_resolves_actor_names(make_client: ClientFactory) -> None:
    api = await signed_in_admin(make_client)
    store = AuditLogStore(api)
    states: list[LoadState] = []
    store.subscribe(lambda: states.append(store.state))

    await store.load()

    assert states == [LoadState.loading, LoadState.loaded]
    assert store.error is None and store.entries
    ids = [e.id for e in store.entries]
    assert ids == sorted(ids, reverse=True), "newest first"
    own_sign_in = next(e for e in store.entries if e.action == "auth.login")
    assert store.actor_name(own_sign_in) == ADMIN_NAME
    assert own_sign_in.actor_role == "admin"
    assert action_label(own_sign_in.action) == "Sign-in"


async def test_filtering_by_outcome_and_action(make_client: ClientFactory) -> None:
    navigator = make_client()
    await navigator.login(demo_email("james.carter"), DEMO_PASSWORD)
    try:
        await navigator.list_users()  # admin only: audited as access.role_denied
    except ApiError as exc:
        assert exc.status == 403
    else:
        raise AssertionError("a navigator must not list the organization's users")

    store = AuditLogStore(await signed_in_admin(make_client))
    await store.set_outcome(AuditOutcome.denied)

    assert store.state is LoadState.loaded and store.entries
    assert {e.outcome for e in store.entries} == {AuditOutcome.denied}
    denied = next(e for e in store.entries if e.action == "access.role_denied")
    assert store.actor_name(denied) == "James Carter"

    await store.set_action_query("sign in")  # plain words, as the administrator types them
    assert store.action == "auth.login"
    assert all(e.action == "auth.login" and e.outcome is AuditOutcome.denied for e in store.entries)

    await store.set_outcome(None)
    assert store.entries and {e.action for e in store.entries} == {"auth.login"}
    assert store.actor_name(store.entries[0]) == ADMIN_NAME  # the admin's own sign-in is newest

    await store.set_action_query("")
    assert not store.filtered


async def test_paging_with_the_cursor_reads_older_entries_without_duplicates(
    make_client: ClientFactory,
) -> None:
    store = AuditLogStore(await signed_in_admin(make_client), page_size=5)
    await store.load()
    first = [e.id for e in store.entries]
    assert len(first) == 5 and store.next_cursor is not None

    await store.load_more()

    ids = [e.id for e in store.entries]
    assert ids[:5] == first
    older = ids[5:]
    assert older and max(older) < min(first)
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids, reverse=True)


async def test_verify_reports_an_intact_chain(make_client: ClientFactory) -> None:
    store = AuditLogStore(await signed_in_admin(make_client))

    await store.verify()

    assert store.verify_error is None
    assert store.verify_result is not None
    assert store.verify_result.ok, store.verify_result.problem
    assert store.verify_result.checked > 0
    assert store.verify_result.first_broken_id is None


async def test_a_non_admin_gets_an_explained_error_and_reset_forgets(
    make_client: ClientFactory,
) -> None:
    api = make_client()
    await api.login(demo_email("james.carter"), DEMO_PASSWORD)
    store = AuditLogStore(api)

    await store.load()

    assert store.state is LoadState.failed and store.error
    assert store.entries == []
    store.reset()
    assert store.state is LoadState.idle and store.error is None and store.users == {}


def test_action_search_accepts_plain_words_or_codes() -> None:
    assert action_filter("  ") is None
    assert action_filter("Sign-in") == "auth.login"
    assert action_filter("signin") == "auth.login"
    assert action_filter("auth.login") == "auth.login"
    assert action_filter("Emergency access") == "patient.emergency_access"
    assert action_filter("Patient.Read") == "patient.read"
    assert action_label("something.new") == "something.new"

"""The care team shown on Today, and the other typed reads the client offers."""

from mobile_app.stores.care_team import CareTeamStore
from mobile_app.stores.patients import LoadState
from shared.enums import AccessBasis, TeamRole
from tests.mobile_app.client_support import DEMO_PASSWORD, ClientFactory, SignedIn, demo_email


async def test_a_patient_sees_their_care_team_in_role_order(
    make_client: ClientFactory, signed_in: SignedIn
) -> None:
    api = make_client()
    session = await signed_in("robert.johnson", api=api)
    viewed = session.viewed_patient
    assert viewed is not None
    store = CareTeamStore(api)

    await store.load(viewed.patient_id)

    assert store.state is LoadState.loaded
    roles = [m.team_role for m in store.members]
    assert roles[0] is TeamRole.care_manager
    assert {m.full_name for m in store.members} >= {"Maria Lopez", "James Carter"}
    assert all(m.end_at is None for m in store.members)


async def test_switching_patients_never_shows_the_previous_team(
    make_client: ClientFactory, signed_in: SignedIn
) -> None:
    api = make_client()
    session = await signed_in("linda.johnson", api=api)
    robert, evelyn = sorted(session.proxies, key=lambda p: p.patient_name, reverse=True)
    store = CareTeamStore(api)
    await store.load(robert.patient_id)
    roberts_team = list(store.members)

    seen_while_loading: list[list[str]] = []
    store.subscribe(
        lambda: (
            seen_while_loading.append([m.full_name for m in store.members])
            if store.state is LoadState.loading
            else None
        )
    )
    await store.load(evelyn.patient_id)

    assert seen_while_loading == [[]]  # Robert's team was dropped before Evelyn's arrived
    assert store.patient_id == evelyn.patient_id
    assert store.state is LoadState.loaded
    evelyns_team = await api.list_care_team(str(evelyn.patient_id))
    assert {m.id for m in store.members} == {m.id for m in evelyns_team.data}
    assert not {m.id for m in store.members} & {m.id for m in roberts_team}


async def test_typed_reads_for_a_patient(make_client: ClientFactory) -> None:
    api = make_client()
    me = await api.login(demo_email("robert.johnson"), DEMO_PASSWORD)
    assert me.patient_id is not None

    detail = await api.get_patient(str(me.patient_id))
    assert detail.full_name == "Robert Johnson"
    assert detail.access is AccessBasis.self
    assert detail.conditions

    grants = await api.list_proxy_grants(str(me.patient_id))
    assert "Linda Johnson" in {g.grantee_name for g in grants.data}

    notifications = await api.list_notifications()
    assert notifications.count >= len(notifications.data)
    assert all(n.title for n in notifications.data)

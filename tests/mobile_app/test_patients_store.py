"""The staff patient list against the real backend, and the age shown beside each name."""

from datetime import date

import httpx

from mobile_app.stores.patients import LoadState, PatientListStore, age_on
from tests.mobile_app.client_support import DEMO_PASSWORD, ClientFactory, demo_email


async def test_navigator_sees_the_patients_on_their_care_teams(
    make_client: ClientFactory, api_url: str
) -> None:
    api = make_client()
    await api.login(demo_email("james.carter"), DEMO_PASSWORD)
    store = PatientListStore(api)
    states: list[LoadState] = []
    store.subscribe(lambda: states.append(store.state))

    await store.load()

    assert states == [LoadState.loading, LoadState.loaded]
    assert store.error is None
    names = [p.full_name for p in store.patients]
    assert "Robert Johnson" in names and "Evelyn Johnson" in names
    assert "Harold Jenkins" not in names  # on no team of James's
    family_names = [n.split()[-1] for n in names]
    assert family_names == sorted(family_names)
    assert all(p.mrn.startswith("RCH-") for p in store.patients)

    # The store shows exactly what the server says this person may see.
    assert api.tokens is not None
    async with httpx.AsyncClient(base_url=f"{api_url}/api/v1") as raw:
        response = await raw.get(
            "/patients", headers={"Authorization": f"Bearer {api.tokens.access_token}"}
        )
    assert {p["id"] for p in response.json()["data"]} == {str(p.id) for p in store.patients}
    assert store.total == response.json()["count"]


async def test_a_failed_load_explains_itself_and_reset_forgets(make_client: ClientFactory) -> None:
    store = PatientListStore(make_client())  # never signed in

    await store.load()

    assert store.state is LoadState.failed
    assert store.error == "Your session has ended. Please sign in again."
    store.reset()
    assert store.state is LoadState.idle and store.patients == [] and store.error is None


def test_age_counts_whole_years_around_the_birthday() -> None:
    born = date(1951, 3, 14)
    assert age_on(born, date(2026, 3, 13)) == 74
    assert age_on(born, date(2026, 3, 14)) == 75
    assert age_on(date(2000, 2, 29), date(2025, 2, 28)) == 24

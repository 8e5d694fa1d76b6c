from tests import factories as f
from tests.backend.scenario import build_world


async def test_login_and_list(client, db):
    world = await build_world(db)
    tokens = await f.login(client, world.care_manager)
    response = await client.get("/patients", headers=f.bearer(tokens))
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["data"]] == [str(world.patient.id)]

"""Liveness and readiness, against the real database and the machine's Redis."""

import httpx
import pytest
from fastapi import FastAPI

from backend.main import create_app
from tests.conftest import make_settings
from tests.live_server import free_port
from tests.services import REDIS_URL, require_redis


async def _get(app: FastAPI, path: str) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path)


async def test_liveness_needs_nothing(db_url: str) -> None:
    response = await _get(create_app(make_settings(db_url)), "/health")
    assert response.json() == {"status": "ok"}


async def test_ready_with_database_and_redis(db_url: str) -> None:
    require_redis()
    response = await _get(create_app(make_settings(db_url, redis_url=REDIS_URL)), "/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}


async def test_ready_without_redis_configured(db_url: str) -> None:
    response = await _get(create_app(make_settings(db_url)), "/health/ready")
    assert response.status_code == 200
    assert response.json()["redis"] == "not configured"


@pytest.mark.parametrize("broken", ["database", "redis"])
async def test_not_ready_when_a_dependency_is_down(db_url: str, broken: str) -> None:
    """A closed port stands in for the dead service: the answer is 503 naming it, not a 500."""
    port = free_port()
    overrides: dict[str, object] = {"redis_url": f"redis://127.0.0.1:{port}/0"}
    if broken == "database":
        overrides = {"database_url": f"postgresql://postgres@127.0.0.1:{port}/none"}
    response = await _get(create_app(make_settings(db_url, **overrides)), "/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body[broken] == "unavailable"

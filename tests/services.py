"""Reaching the machine's PostgreSQL and Redis for tests.

Tests use them when reachable and skip otherwise, except with REQUIRE_SERVICES=1 (CI), where a
missing service fails the run instead of quietly skipping half the suite.
"""

import asyncio
import os
import socket
import uuid

import asyncpg
import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_or_skip(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if services_required():
        pytest.fail(message + " (REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def require_postgres() -> None:
    require_or_skip("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require_or_skip("Redis", "127.0.0.1", 6379)


def _with_database(url: str, name: str) -> str:
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}"


def create_postgres_database() -> str:
    """A fresh database for this test session; returns its SQLAlchemy URL."""
    name = f"carecircle_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return _with_database(POSTGRES_ADMIN_URL, name).replace(
        "postgresql://", "postgresql+asyncpg://"
    )


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())

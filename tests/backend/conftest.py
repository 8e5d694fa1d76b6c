"""Fixtures several backend test modules share."""

import uuid

import pytest

from backend.core.config import Settings
from backend.core.db import Database
from tests.backend.access_helpers import headers_for
from tests.backend.push_helpers import fakes, push_fakes_session

__all__ = ["fakes", "push_fakes_session"]


@pytest.fixture
async def as_(db: Database, settings: Settings):
    """`await as_(user)`: bearer headers for `user`, one device session per user per test."""
    cache: dict[uuid.UUID, dict[str, str]] = {}

    async def headers(user) -> dict[str, str]:
        if user.id not in cache:
            cache[user.id] = await headers_for(db, settings, user)
        return cache[user.id]

    return headers

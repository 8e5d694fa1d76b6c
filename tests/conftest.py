"""Fixtures shared by every test.

Database tests run twice, on SQLite and on PostgreSQL (`db_url` is parametrized). Each backend
is migrated once per session with Alembic; every test then starts from empty tables (a copy of
the migrated SQLite file, or TRUNCATE on PostgreSQL).
"""

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import text

from backend.core.config import PROJECT_ROOT, Settings
from backend.core.db import Database
from backend.main import create_app
from tests.live_server import TEST_SECRET, running_api
from tests.services import create_postgres_database, drop_postgres_database, require_postgres


def migrate(url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require_postgres()
    url = create_postgres_database()
    migrate(url)
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("postgres_url")


async def _truncate(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        return
    async with db.engine.begin() as connection:
        tables = (
            await connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


TEST_ATTACHMENTS = Path(tempfile.gettempdir()) / "carecircle-test-attachments"


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": url,
        "secret_key": TEST_SECRET,
        "attachment_dir": TEST_ATTACHMENTS,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    await _truncate(database)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def shared_app() -> FastAPI:
    """Building the app costs ~0.3 s (and FastAPI builds its routes on the first request), so
    tests share one; only `state.db` differs per test. A test that changes the app itself
    (extra routes, other settings) builds its own with `create_app`."""
    return create_app(make_settings("sqlite+aiosqlite:///unused-by-shared-app.db"))


@pytest.fixture
async def app(shared_app: FastAPI, settings: Settings, db: Database) -> FastAPI:
    shared_app.state.settings = settings
    shared_app.state.db = db
    return shared_app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
        yield c


# --- a real server, for client and browser tests ---------------------------------------------


@dataclass(frozen=True)
class LiveApi:
    url: str
    database_url: str


@pytest.fixture(scope="session")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """The real backend in its own process on a migrated, demo-seeded SQLite file, the
    zero-setup default a clinic's first install runs on."""
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    with running_api(database_url) as url:
        yield LiveApi(url=url, database_url=database_url)

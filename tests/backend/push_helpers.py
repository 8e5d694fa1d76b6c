"""Shared pieces of the push tests: the fake providers, a small care team, devices, a clock."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core.config import Settings
from backend.core.db import Database
from backend.core.types import utcnow
from backend.identity.models import Organization, User
from backend.messaging.models import Conversation
from backend.notifications.dispatcher import Dispatcher, build_providers
from backend.notifications.models import PushDevice, PushJob
from backend.patients.models import Patient
from shared.enums import Role
from tests import factories as f
from tests.conftest import make_settings
from tests.fakes.stack import PushFakes, start_push_fakes

PATIENT_MESSAGE = "My feet are swollen and the metformin makes me dizzy"
DIAGNOSES = ("Type 2 diabetes mellitus", "Congestive heart failure")


@pytest.fixture(scope="session")
def push_fakes_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushFakes]:
    fakes = start_push_fakes(Path(tmp_path_factory.mktemp("push-fakes")))
    yield fakes
    fakes.stop()


@pytest.fixture
def fakes(push_fakes_session: PushFakes) -> Iterator[PushFakes]:
    push_fakes_session.reset()
    yield push_fakes_session
    push_fakes_session.reset()


def push_settings(db_url: str, fakes: PushFakes | None, **overrides: object) -> Settings:
    values: dict[str, object] = dict(fakes.overrides) if fakes else {}
    values.update(
        push_dispatcher="off",
        push_backoff_base_seconds=1.0,
        push_poll_seconds=0.05,
        push_send_timeout_seconds=5.0,
    )
    values.update(overrides)
    return make_settings(db_url, **values)


class Clock:
    """A settable clock for the dispatcher, so back-off and quiet hours need no sleeping."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Team:
    org: Organization
    patient: Patient
    patient_user: User
    care_manager: User
    navigator: User
    thread: Conversation
    devices: dict[str, PushDevice] = field(default_factory=dict)


async def build_team(db: Database) -> Team:
    org = await f.create_org(db)
    patient_user = await f.create_user(db, org, Role.patient, name="Rosa Quintero")
    patient = await f.create_patient(
        db, org, user=patient_user, given_name="Rosa", family_name="Quintero", conditions=DIAGNOSES
    )
    care_manager = await f.create_user(db, org, Role.care_manager, name="Cara Manager")
    navigator = await f.create_user(db, org, Role.navigator, name="Nate Navigator")
    await f.add_to_team(db, patient, care_manager)
    await f.add_to_team(db, patient, navigator)
    thread = await f.sync_conversations(db, patient)
    return Team(org, patient, patient_user, care_manager, navigator, thread)


async def add_device(db: Database, user: User, platform: str, token: str | None = None):
    device = PushDevice(
        user_id=user.id,
        platform=platform,
        token=token or f"{uuid.uuid4().hex}{uuid.uuid4().hex}",
    )
    async with db.session() as session:
        session.add(device)
        await session.commit()
    return device


async def jobs_for(db: Database, user: User) -> list[PushJob]:
    async with db.session() as session:
        rows = await session.scalars(
            select(PushJob).where(PushJob.user_id == user.id).order_by(PushJob.created_at)
        )
        return list(rows.all())


async def all_jobs(db: Database) -> list[PushJob]:
    async with db.session() as session:
        return list((await session.scalars(select(PushJob))).all())


def make_dispatcher(db: Database, settings: Settings, clock: Clock | None = None, **kw):
    return Dispatcher(db, settings, build_providers(settings), clock=clock or utcnow, **kw)


async def close(dispatcher: Dispatcher) -> None:
    for provider in dispatcher.providers.values():
        await provider.close()

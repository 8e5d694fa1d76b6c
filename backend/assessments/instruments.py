"""The instruments CareCircle ships: `questionnaires/<key>.questionnaire.json` (FHIR) beside
`questionnaires/<key>.scoring.json` (rules). Loading validates both; `sync_shipped` writes them
into the database (migration, demo seed, tests), idempotently: the files are the truth for
their version.
"""

import json
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from backend.assessments import definition as definitions
from backend.assessments import scoring
from backend.assessments.models import Questionnaire
from backend.core.types import utcnow
from shared.schemas.assessments import ScoringRules

DIRECTORY = Path(__file__).parent / "questionnaires"
SHIPPED_KEYS = ("phq-2", "phq-9", "gad-7", "audit-c", "intake")


@dataclass(frozen=True, slots=True)
class Instrument:
    key: str
    resource: dict[str, Any]
    scoring: dict[str, Any] | None

    @property
    def version(self) -> str:
        return str(self.resource.get("version") or "1")

    @property
    def title(self) -> str:
        return str(self.resource.get("title") or self.key)

    @property
    def loinc_code(self) -> str | None:
        return loinc_of(self.resource)


def loinc_of(resource: dict[str, Any]) -> str | None:
    for coding in resource.get("code") or []:
        if coding.get("system") == "http://loinc.org":
            return coding.get("code")
    return None


@cache
def shipped() -> tuple[Instrument, ...]:
    found = []
    for key in SHIPPED_KEYS:
        resource = json.loads((DIRECTORY / f"{key}.questionnaire.json").read_text())
        rules_file = DIRECTORY / f"{key}.scoring.json"
        rules = json.loads(rules_file.read_text()) if rules_file.exists() else None
        parsed = definitions.parse(resource)
        if rules is not None:
            scoring.check_rules(parsed, ScoringRules.model_validate(rules))
        found.append(Instrument(key=key, resource=resource, scoring=rules))
    return tuple(found)


def sync_shipped(connection: Connection) -> int:
    """Insert or refresh the shipped instruments; returns how many rows changed."""
    table = Questionnaire.__table__
    changed = 0
    for instrument in shipped():
        row = connection.execute(
            select(table.c.id, table.c.resource, table.c.scoring).where(
                table.c.organization_id.is_(None),
                table.c.key == instrument.key,
                table.c.version == instrument.version,
            )
        ).first()
        values = {
            "title": instrument.title,
            "description": instrument.resource.get("description"),
            "loinc_code": instrument.loinc_code,
            "resource": instrument.resource,
            "scoring": instrument.scoring,
        }
        if row is None:
            connection.execute(
                table.insert().values(
                    id=uuid.uuid4(),
                    organization_id=None,
                    key=instrument.key,
                    version=instrument.version,
                    shipped=True,
                    active=True,
                    created_at=utcnow(),
                    **values,
                )
            )
            changed += 1
        elif row.resource != instrument.resource or row.scoring != instrument.scoring:
            connection.execute(update(table).where(table.c.id == row.id).values(**values))
            changed += 1
    return changed


async def ensure_shipped(session: AsyncSession) -> int:
    return await session.run_sync(lambda sync_session: sync_shipped(sync_session.connection()))


async def shipped_by_key(session: AsyncSession, key: str) -> Questionnaire | None:
    return await session.scalar(
        select(Questionnaire)
        .where(Questionnaire.organization_id.is_(None), Questionnaire.key == key)
        .order_by(Questionnaire.created_at.desc())
    )

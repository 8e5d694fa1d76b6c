"""The articles CareCircle ships: Markdown files with a small front matter block, loaded into
the `article` table on first use (and by the demo seed). Loading is idempotent and safe from
several processes at once: a row changes only when its file's digest did.

    ---
    slug: checking-your-blood-sugar
    title: Checking your blood sugar
    summary: One or two sentences.
    conditions: diabetes
    topics: self-care, tests
    language: en
    ---
    Markdown body...
"""

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import textstat
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.types import new_id, utcnow
from backend.education.models import Article

DIRECTORY = Path(__file__).parent / "articles"
_loaded: set[str] = set()


@dataclass(frozen=True)
class SourceArticle:
    slug: str
    title: str
    summary: str
    conditions: list[str]
    topics: list[str]
    language: str
    body: str
    digest: str

    @property
    def reading_grade(self) -> float:
        return reading_grade(self.body)


def plain_text(markdown: str) -> str:
    """The words a reader reads: headings and list items count as sentences of their own."""
    lines = []
    for raw in markdown.splitlines():
        line = re.sub(r"^\s*(#+|[-*]|\d+\.)\s*", "", raw).strip()
        line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)
        line = line.replace("**", "").replace("_", "")
        if not line:
            continue
        lines.append(line if line[-1] in ".!?:" else line + ".")
    return "\n".join(lines)


def reading_grade(markdown: str) -> float:
    """Flesch-Kincaid grade level (textstat)."""
    return float(textstat.flesch_kincaid_grade(plain_text(markdown)))


def parse(path: Path) -> SourceArticle:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    if match is None:
        raise ValueError(f"{path.name}: no front matter")
    meta = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()

    def listed(key: str) -> list[str]:
        return [v.strip() for v in meta.get(key, "").split(",") if v.strip()]

    return SourceArticle(
        slug=meta["slug"],
        title=meta["title"],
        summary=meta["summary"],
        conditions=listed("conditions"),
        topics=listed("topics"),
        language=meta.get("language", "en"),
        body=match.group(2).strip() + "\n",
        digest=hashlib.sha256(text.encode()).hexdigest(),
    )


@cache
def sources() -> tuple[SourceArticle, ...]:
    return tuple(parse(p) for p in sorted(DIRECTORY.glob("*.md")))


async def ensure_library(session: AsyncSession) -> None:
    """Insert missing articles and refresh changed ones (once per process and database)."""
    bind = session.get_bind()
    if str(bind.url) in _loaded:
        count = await session.scalar(select(func.count()).select_from(Article))
        if count == len(sources()):
            return
    existing = {a.slug: a for a in (await session.scalars(select(Article))).all()}
    for source in sources():
        values = dict(
            title=source.title,
            summary=source.summary,
            body=source.body,
            conditions=source.conditions,
            topics=source.topics,
            language=source.language,
            reading_grade=source.reading_grade,
            digest=source.digest,
            updated_at=utcnow(),
        )
        row = existing.get(source.slug)
        if row is None:
            insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
            await session.execute(
                insert(Article)
                .values(id=new_id(), slug=source.slug, active=True, **values)
                .on_conflict_do_nothing(index_elements=["slug"])
            )
        elif row.digest != source.digest:
            for key, value in values.items():
                setattr(row, key, value)
    await session.flush()
    _loaded.add(str(bind.url))

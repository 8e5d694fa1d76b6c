"""The library (search, open) and each patient's reading list (assign, read)."""

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.careteam.access import PatientAccess
from backend.core.errors import NotFound
from backend.core.types import utcnow
from backend.education.library import ensure_library
from backend.education.models import Article, ArticleAssignment, ArticleRead
from backend.identity.models import User
from backend.notifications.service import notify
from shared.enums import AccessBasis, ArticleAssignmentSource, NotificationCategory
from shared.schemas.education import (
    ArticleAssignmentPublic,
    ArticleDetail,
    ArticleSummary,
    AssignmentIn,
    ReadReceipt,
)


def summary(article: Article) -> ArticleSummary:
    return ArticleSummary.model_validate(article, from_attributes=True)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.casefold())


def _score(article: Article, terms: list[str]) -> int:
    """Title and tags weigh more than the summary, the summary more than the body."""
    title = set(_words(article.title))
    tags = set(_words(" ".join(article.conditions + article.topics)))
    summary_words = set(_words(article.summary))
    body = set(_words(article.body))
    score = 0
    for term in terms:
        hits = [
            (5, any(w.startswith(term) for w in title)),
            (4, any(w.startswith(term) for w in tags)),
            (2, any(w.startswith(term) for w in summary_words)),
            (1, term in body),
        ]
        matched = [weight for weight, hit in hits if hit]
        if not matched:
            return 0
        score += sum(matched)
    return score


async def search(
    session: AsyncSession,
    *,
    q: str | None = None,
    condition: str | None = None,
    topic: str | None = None,
    language: str | None = None,
) -> list[ArticleSummary]:
    """Active articles matching every word of `q` (prefixes count), best first; without `q`,
    all of them by title. `condition` and `topic` filter by tag."""
    await ensure_library(session)
    articles = (await session.scalars(select(Article).where(Article.active))).all()
    terms = _words(q or "")
    found: list[tuple[int, Article]] = []
    for article in articles:
        if condition and condition.casefold() not in [c.casefold() for c in article.conditions]:
            continue
        if topic and topic.casefold() not in [t.casefold() for t in article.topics]:
            continue
        if language and article.language != language:
            continue
        score = _score(article, terms) if terms else 1
        if score:
            found.append((score, article))
    found.sort(key=lambda pair: (-pair[0], pair[1].title))
    return [summary(a) for _, a in found]


async def _article(session: AsyncSession, slug: str) -> Article:
    await ensure_library(session)
    article = await session.scalar(select(Article).where(Article.slug == slug, Article.active))
    if article is None:
        raise NotFound("There is no article with this name in the library.")
    return article


async def get_article(session: AsyncSession, *, slug: str) -> ArticleDetail:
    return ArticleDetail.model_validate(await _article(session, slug), from_attributes=True)


async def titles(session: AsyncSession, slugs: list[str]) -> dict[str, str]:
    """Titles of library articles by slug; a slug not in the library is missing from it."""
    await ensure_library(session)
    if not slugs:
        return {}
    rows = await session.execute(
        select(Article.slug, Article.title).where(Article.slug.in_(slugs), Article.active)
    )
    return {slug: title for slug, title in rows.all()}


async def _public(
    session: AsyncSession, rows: list[ArticleAssignment]
) -> list[ArticleAssignmentPublic]:
    articles = (
        {
            a.id: a
            for a in (
                await session.scalars(
                    select(Article).where(Article.id.in_([r.article_id for r in rows]))
                )
            ).all()
        }
        if rows
        else {}
    )
    people = (
        {
            u.id: u.full_name
            for u in (
                await session.scalars(
                    select(User).where(
                        User.id.in_([r.assigned_by_id for r in rows if r.assigned_by_id])
                    )
                )
            ).all()
        }
        if rows
        else {}
    )
    return [
        ArticleAssignmentPublic(
            id=r.id,
            patient_id=r.patient_id,
            article=summary(articles[r.article_id]),
            source=r.source,
            note=r.note,
            assigned_by_name=people.get(r.assigned_by_id),
            assigned_at=r.assigned_at,
            first_read_at=r.first_read_at,
            read_count=r.read_count,
        )
        for r in rows
    ]


async def reading_list(
    session: AsyncSession, *, access: PatientAccess
) -> list[ArticleAssignmentPublic]:
    """Assigned articles: unread first, then newest."""
    await ensure_library(session)
    rows = list(
        (
            await session.scalars(
                select(ArticleAssignment).where(ArticleAssignment.patient_id == access.patient.id)
            )
        ).all()
    )
    rows.sort(key=lambda r: (r.first_read_at is not None, -r.assigned_at.timestamp()))
    access.record(
        session, "education.list", resource_type="article_assignment", detail={"count": len(rows)}
    )
    return await _public(session, rows)


async def ensure_assigned(
    session: AsyncSession,
    *,
    patient_id: uuid.UUID,
    patient_user_id: uuid.UUID | None,
    article: Article,
    actor_id: uuid.UUID | None,
    source: ArticleAssignmentSource,
    note: str | None = None,
) -> tuple[ArticleAssignment, bool]:
    """The patient's assignment of `article`, created (with a notification) if missing."""
    row = await session.scalar(
        select(ArticleAssignment).where(
            ArticleAssignment.patient_id == patient_id, ArticleAssignment.article_id == article.id
        )
    )
    if row is not None:
        return row, False
    row = ArticleAssignment(
        patient_id=patient_id,
        article_id=article.id,
        source=source,
        note=note,
        assigned_by_id=actor_id,
    )
    session.add(row)
    if patient_user_id is not None:
        notify(
            session,
            user_id=patient_user_id,
            category=NotificationCategory.education,
            title="New reading",
            body="Your care team shared something for you to read.",
            link="/learn",
            push=True,
            collapse_key="education",
        )
    await session.flush()
    return row, True


async def assign(
    session: AsyncSession, *, access: PatientAccess, data: AssignmentIn
) -> tuple[ArticleAssignmentPublic, bool]:
    article = await _article(session, data.article_slug)
    row, created = await ensure_assigned(
        session,
        patient_id=access.patient.id,
        patient_user_id=access.patient.user_id,
        article=article,
        actor_id=access.principal.id,
        source=ArticleAssignmentSource.manual,
        note=data.note,
    )
    access.record(
        session,
        "education.assign",
        resource_type="article",
        resource_id=article.id,
        detail={"created": created},
    )
    return (await _public(session, [row]))[0], created


async def record_read(session: AsyncSession, *, access: PatientAccess, slug: str) -> ReadReceipt:
    article = await _article(session, slug)
    now = utcnow()
    session.add(
        ArticleRead(
            patient_id=access.patient.id,
            article_id=article.id,
            user_id=access.principal.id,
            on_behalf=access.basis == AccessBasis.proxy,
            read_at=now,
        )
    )
    row = await session.scalar(
        select(ArticleAssignment).where(
            ArticleAssignment.patient_id == access.patient.id,
            ArticleAssignment.article_id == article.id,
        )
    )
    first, count = now, 1
    if row is not None:
        row.first_read_at = row.first_read_at or now
        row.read_count += 1
        first, count = row.first_read_at, row.read_count
    access.record(session, "education.read", resource_type="article", resource_id=article.id)
    await session.flush()
    return ReadReceipt(article_id=article.id, read_at=now, first_read_at=first, read_count=count)


async def read_slugs(session: AsyncSession, patient_id: uuid.UUID) -> set[str]:
    """Articles the patient (or family for them) has opened at least once."""
    rows = await session.scalars(
        select(Article.slug)
        .join(ArticleRead, ArticleRead.article_id == Article.id)
        .where(ArticleRead.patient_id == patient_id)
        .distinct()
    )
    return set(rows.all())

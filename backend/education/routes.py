"""The education library and reading lists over REST."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from backend.core.db import SessionDep
from backend.core.errors import ERROR_RESPONSES
from backend.education import service
from backend.education.permissions import ArticleAssigner, ArticleReader, ReadingListViewer
from backend.identity.permissions import CurrentPrincipal
from shared.schemas.common import Page
from shared.schemas.education import (
    ArticleAssignmentPublic,
    ArticleDetail,
    ArticleSummary,
    AssignmentIn,
    ReadReceipt,
)

router = APIRouter(tags=["education"], responses=ERROR_RESPONSES)

Slug = Annotated[str, Path(max_length=80, description="The article's slug.")]


@router.get("/articles", response_model=Page[ArticleSummary])
async def search_articles(
    principal: CurrentPrincipal,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200, description="Words to look for.")] = None,
    condition: Annotated[str | None, Query(max_length=60)] = None,
    topic: Annotated[str | None, Query(max_length=60)] = None,
    language: Annotated[str | None, Query(max_length=12)] = None,
) -> Page[ArticleSummary]:
    """Search the library (title, tags, summary and text), best match first."""
    data = await service.search(session, q=q, condition=condition, topic=topic, language=language)
    return Page(data=data, count=len(data))


@router.get("/articles/{slug}", response_model=ArticleDetail)
async def get_article(
    slug: Slug, principal: CurrentPrincipal, session: SessionDep
) -> ArticleDetail:
    """One article with its Markdown body."""
    return await service.get_article(session, slug=slug)


@router.get("/patients/{patient_id}/articles", response_model=Page[ArticleAssignmentPublic])
async def reading_list(
    access: ReadingListViewer, session: SessionDep
) -> Page[ArticleAssignmentPublic]:
    """Articles the care team assigned, unread first."""
    data = await service.reading_list(session, access=access)
    return Page(data=data, count=len(data))


@router.post(
    "/patients/{patient_id}/articles",
    response_model=ArticleAssignmentPublic,
    status_code=status.HTTP_201_CREATED,
)
async def assign_article(
    body: AssignmentIn, access: ArticleAssigner, session: SessionDep, response: Response
) -> ArticleAssignmentPublic:
    """Assign an article (201; 200 with the existing assignment if it was already assigned).
    The patient is notified."""
    assignment, created = await service.assign(session, access=access, data=body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return assignment


@router.post("/patients/{patient_id}/articles/{slug}/read", response_model=ReadReceipt)
async def record_read(slug: Slug, access: ArticleReader, session: SessionDep) -> ReadReceipt:
    """Record that the patient (or family for them) opened the article."""
    return await service.record_read(session, access=access, slug=slug)

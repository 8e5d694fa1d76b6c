"""The education library: plain-language articles in Markdown, assigned to patients by their
care team, read in the app (each read recorded)."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ArticleSummary(BaseModel):
    id: uuid.UUID
    slug: str
    title: str
    summary: str
    conditions: list[str]
    topics: list[str]
    language: str
    reading_grade: float = Field(description="Flesch-Kincaid grade level of the body.")


class ArticleDetail(ArticleSummary):
    body: str = Field(description="Markdown.")


class AssignmentIn(BaseModel):
    article_slug: Annotated[str, Field(min_length=1, max_length=80)]
    note: str | None = Field(default=None, max_length=300)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"article_slug": "living-with-type-2-diabetes"}]},
    )


class ArticleAssignmentPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    article: ArticleSummary
    source: str
    note: str | None
    assigned_by_name: str | None
    assigned_at: datetime
    first_read_at: datetime | None
    read_count: int


class ReadReceipt(BaseModel):
    article_id: uuid.UUID
    read_at: datetime
    first_read_at: datetime
    read_count: int

"""The education library (articles shipped as Markdown files, loaded idempotently), what the
care team assigned to each patient, and every read."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime, new_id, utcnow


class Article(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    slug: str = Field(sa_type=String(80), unique=True)
    title: str = Field(sa_type=String(200))
    summary: str = Field(sa_type=String(500))
    body: str = Field(sa_type=Text)
    conditions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str = Field(default="en", sa_type=String(12))
    reading_grade: float = 0.0
    digest: str = Field(sa_type=String(64))
    """SHA-256 of the source file: loading again changes the row only when the file did."""
    active: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ArticleAssignment(SQLModel, table=True):
    __tablename__ = "article_assignment"
    __table_args__ = (UniqueConstraint("patient_id", "article_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    article_id: uuid.UUID = Field(foreign_key="article.id", index=True)
    source: str = Field(default="manual", sa_type=String(16))
    note: str | None = Field(default=None, sa_type=String(300))
    assigned_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    first_read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    read_count: int = 0


class ArticleRead(SQLModel, table=True):
    __tablename__ = "article_read"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    article_id: uuid.UUID = Field(foreign_key="article.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id")
    on_behalf: bool = False
    read_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

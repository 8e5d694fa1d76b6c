"""Conversations, their members, messages, earlier texts of edited messages, attachments.

Nothing here is ever deleted: a member who leaves gets `removed_at`, a message entered in error
gets `retracted_at`, an edit keeps the text it replaced as a revision. Bodies, revisions and
attachment names are stored only as AES-256-GCM ciphertext with the id of the key used.
"""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from backend.core.types import UTCDateTime, new_id, utcnow


class Conversation(SQLModel, table=True):
    """A thread about one patient. `last_seq` hands out message numbers (1, 2, 3, ... with no
    gaps); `last_change` counts edits and retractions, so a client can ask what changed."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    kind: str = Field(sa_type=String(16))
    subject: str = Field(sa_type=String(120))
    urgent: bool = False
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    last_change: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    last_message_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        # At most one care-team thread per patient (partial unique index on both databases).
        Index(
            "uq_conversation_care_team",
            "patient_id",
            unique=True,
            sqlite_where=text("kind = 'care_team'"),
            postgresql_where=text("kind = 'care_team'"),
        ),
    )


class ConversationMember(SQLModel, table=True):
    __tablename__ = "conversation_member"
    __table_args__ = (UniqueConstraint("conversation_id", "user_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    conversation_id: uuid.UUID = Field(foreign_key="conversation.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    read_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    added_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    removed_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")


class Attachment(SQLModel, table=True):
    """A photo or PDF. The bytes live encrypted in a file outside the database, named by id."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    conversation_id: uuid.UUID = Field(foreign_key="conversation.id", index=True)
    uploader_id: uuid.UUID = Field(foreign_key="app_user.id")
    content_type: str = Field(sa_type=String(64))
    size: int
    sha256: str = Field(sa_type=String(64))
    filename_cipher: bytes = Field(sa_type=LargeBinary)
    key_id: str = Field(sa_type=String(32))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "sender_id", "client_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    conversation_id: uuid.UUID = Field(foreign_key="conversation.id")
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    change: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    sender_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    client_id: str | None = Field(default=None, sa_type=String(64))
    kind: str = Field(sa_type=String(16))
    urgent: bool = False
    body_cipher: bytes = Field(sa_type=LargeBinary)
    key_id: str = Field(sa_type=String(32))
    attachment_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("attachment.id"), unique=True, nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retracted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retracted_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")


Index("ix_message_change", Message.conversation_id, Message.change)


class MessageRevision(SQLModel, table=True):
    """The text a message had before an edit or a retraction, for staff to see."""

    __tablename__ = "message_revision"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    message_id: uuid.UUID = Field(foreign_key="message.id", index=True)
    revision: int
    body_cipher: bytes = Field(sa_type=LargeBinary)
    key_id: str = Field(sa_type=String(32))
    editor_id: uuid.UUID = Field(foreign_key="app_user.id")
    reason: str | None = Field(default=None, sa_type=String(300))
    replaced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

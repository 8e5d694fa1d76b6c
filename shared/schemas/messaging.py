"""Secure messaging: conversations, messages, receipts, attachments, and the websocket frames.

The websocket at `/api/v1/ws` speaks JSON text frames. The first frame a client sends is
`{"type": "auth", "token": <access token>}`; the server answers `ready` or closes with code
4401. Later `auth` frames replace the token before it expires (the server closes with 4401 when
it does expire, and with 4403 when the session is signed out). Every other frame type is listed
in `ClientFrameType` and `ServerFrameType`; their fields are the models below.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from shared.enums import ConversationKind, MessageKind, MessageState, Role
from shared.schemas.notifications import NotificationPublic

MAX_BODY_CHARS = 4000
MAX_SUBJECT_CHARS = 120
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")

Body = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_BODY_CHARS)]
Subject = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUBJECT_CHARS)
]
ClientId = Annotated[
    str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


# -- REST ------------------------------------------------------------------------------------


class ConversationMemberPublic(BaseModel):
    user_id: uuid.UUID
    full_name: str
    role: Role
    read_seq: int = Field(description="The member has seen every message up to this seq.")


class ConversationPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    kind: ConversationKind
    subject: str
    urgent: bool
    last_seq: int = Field(description="The seq of the newest message; 0 when there is none.")
    last_change: int = Field(description="Counter of edits and retractions; see resync.")
    last_message_at: datetime | None
    unread: int = Field(description="Messages from others after your read pointer.")
    members: list[ConversationMemberPublic]
    created_at: datetime


class ConversationCreate(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "patient_id": "7d3c1c4e-8a9b-4e2f-9d6a-0b1c2d3e4f50",
                    "kind": "group",
                    "subject": "Questions about the new insulin",
                    "member_ids": ["0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"],
                    "urgent": False,
                }
            ]
        }
    }

    patient_id: uuid.UUID
    kind: Literal[ConversationKind.group, ConversationKind.direct]
    subject: Subject
    member_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=50,
        description="Who else takes part; you are added yourself. A direct thread names one.",
    )
    urgent: bool = False


class ConversationUpdate(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"urgent": True}]}}

    subject: Subject | None = None
    urgent: bool | None = None


class MemberAdd(BaseModel):
    model_config = {
        "json_schema_extra": {"examples": [{"user_id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"}]}
    }

    user_id: uuid.UUID


class AttachmentPublic(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int


class MessagePublic(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    change: int = Field(description="The conversation's change counter when last edited.")
    client_id: str | None
    sender_id: uuid.UUID | None
    sender_name: str
    kind: MessageKind
    state: MessageState
    body: str | None = Field(description="None when retracted (staff see the history).")
    attachment: AttachmentPublic | None = None
    urgent: bool = False
    created_at: datetime
    edited_at: datetime | None = None
    retracted_at: datetime | None = None


class MessageRevisionPublic(BaseModel):
    """An earlier text of an edited or retracted message; shown to staff only."""

    revision: int
    body: str
    editor_name: str
    replaced_at: datetime
    reason: str | None = None


class MessageCreate(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "client_id": "c-01HF8ZQ3W2K7",
                    "body": "My blood sugar was 180 this morning.",
                }
            ]
        }
    }

    client_id: ClientId = Field(description="Chosen by the client; a retry with it is a no-op.")
    body: Body = ""
    attachment_id: uuid.UUID | None = None


class MessageEdit(BaseModel):
    model_config = {
        "json_schema_extra": {"examples": [{"body": "My blood sugar was 160 this morning."}]}
    }

    body: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_BODY_CHARS)
    ]


class MessageRetract(BaseModel):
    model_config = {
        "json_schema_extra": {"examples": [{"reason": "Sent to the wrong conversation"}]}
    }

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)
    ] = "Entered in error"


class ReadUpTo(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"seq": 42}]}}

    seq: int = Field(ge=0)


class ResyncCursor(BaseModel):
    seq: int = Field(default=0, ge=0, description="Last message seq the client has.")
    change: int = Field(default=0, ge=0, description="Last change counter the client has.")


class ConversationResync(BaseModel):
    """What a client missed in one conversation: new messages after its seq, in order, and
    earlier messages edited or retracted after its change counter."""

    conversation_id: uuid.UUID
    messages: list[MessagePublic]
    changed: list[MessagePublic]
    last_seq: int
    last_change: int
    has_more: bool = Field(description="True when `messages` was cut at the limit; ask again.")


# -- websocket frames ------------------------------------------------------------------------


class ClientFrameType(StrEnum):
    auth = "auth"
    send = "send"
    read = "read"
    typing = "typing"
    resync = "resync"
    ping = "ping"


class ServerFrameType(StrEnum):
    ready = "ready"
    ack = "ack"
    error = "error"
    pong = "pong"
    message_created = "message.created"
    message_updated = "message.updated"
    receipt = "receipt"
    typing = "typing"
    conversation_updated = "conversation.updated"
    membership = "membership"
    resync = "resync"
    resync_done = "resync.done"
    notification = "notification"


class AuthFrame(BaseModel):
    type: Literal[ClientFrameType.auth]
    token: str = Field(min_length=10, max_length=4000)


class SendFrame(MessageCreate):
    type: Literal[ClientFrameType.send]
    conversation_id: uuid.UUID


class ReadFrame(ReadUpTo):
    type: Literal[ClientFrameType.read]
    conversation_id: uuid.UUID


class TypingFrame(BaseModel):
    type: Literal[ClientFrameType.typing]
    conversation_id: uuid.UUID


class ResyncFrame(BaseModel):
    type: Literal[ClientFrameType.resync]
    cursors: dict[uuid.UUID, ResyncCursor] = Field(
        default_factory=dict,
        max_length=1000,
        description="Per conversation, what the client has. Conversations left out are sent "
        "from the start only if `all` is true.",
    )
    all: bool = False


class PingFrame(BaseModel):
    type: Literal[ClientFrameType.ping]


ClientFrame = Annotated[
    AuthFrame | SendFrame | ReadFrame | TypingFrame | ResyncFrame | PingFrame,
    Field(discriminator="type"),
]


class ReadyFrame(BaseModel):
    type: Literal[ServerFrameType.ready] = ServerFrameType.ready
    user_id: uuid.UUID
    expires_at: datetime = Field(description="When the token ends; send a new `auth` before.")
    conversations: list[uuid.UUID]


class AckFrame(BaseModel):
    type: Literal[ServerFrameType.ack] = ServerFrameType.ack
    client_id: str
    message: MessagePublic
    duplicate: bool = Field(description="True when this client_id had already been stored.")


class ErrorFrame(BaseModel):
    type: Literal[ServerFrameType.error] = ServerFrameType.error
    code: str
    message: str
    client_id: str | None = None
    retry_after: float | None = None


class MessageFrame(BaseModel):
    """`message.created` and `message.updated`."""

    type: Literal[ServerFrameType.message_created, ServerFrameType.message_updated]
    message: MessagePublic


class ReceiptFrame(BaseModel):
    type: Literal[ServerFrameType.receipt] = ServerFrameType.receipt
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    full_name: str
    read_seq: int


class TypingEventFrame(BaseModel):
    type: Literal[ServerFrameType.typing] = ServerFrameType.typing
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    full_name: str


class ConversationFrame(BaseModel):
    type: Literal[ServerFrameType.conversation_updated] = ServerFrameType.conversation_updated
    conversation: ConversationPublic


class MembershipFrame(BaseModel):
    type: Literal[ServerFrameType.membership] = ServerFrameType.membership
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    change: Literal["added", "removed"]


class ResyncEventFrame(ConversationResync):
    type: Literal[ServerFrameType.resync] = ServerFrameType.resync


class ResyncDoneFrame(BaseModel):
    type: Literal[ServerFrameType.resync_done] = ServerFrameType.resync_done


class NotificationFrame(BaseModel):
    """A new entry in the person's notification center, sent to all their sockets."""

    type: Literal[ServerFrameType.notification] = ServerFrameType.notification
    notification: NotificationPublic

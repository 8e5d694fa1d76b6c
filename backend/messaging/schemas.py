"""Messaging's request and response models live in the shared contract; re-exported here."""

from shared.schemas.messaging import (
    AttachmentPublic,
    ConversationCreate,
    ConversationMemberPublic,
    ConversationPublic,
    ConversationResync,
    ConversationUpdate,
    MemberAdd,
    MessageCreate,
    MessageEdit,
    MessagePublic,
    MessageRetract,
    MessageRevisionPublic,
    ReadUpTo,
)

__all__ = [
    "AttachmentPublic",
    "ConversationCreate",
    "ConversationMemberPublic",
    "ConversationPublic",
    "ConversationResync",
    "ConversationUpdate",
    "MemberAdd",
    "MessageCreate",
    "MessageEdit",
    "MessagePublic",
    "MessageRetract",
    "MessageRevisionPublic",
    "ReadUpTo",
]

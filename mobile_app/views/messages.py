"""Messages with the care team. Conversations arrive with the messaging issue; until then an
honest empty state, with the safety line every patient-facing messaging screen needs."""

import flet as ft

from mobile_app.views import widgets
from mobile_app.views.base import StaticTab, TabContext
from mobile_app.views.labels import possessive
from shared.enums import GrantScope, Role

SAFETY_LINE = "For anything urgent, call your clinic. In an emergency, call 911."


def build_messages(ctx: TabContext) -> StaticTab:
    session = ctx.session
    viewed = session.viewed_patient
    if session.is_staff:
        title = "No conversations yet"
        message = "Messages with your patients and their families will appear here."
    elif (
        viewed is not None
        and viewed.scopes is not None
        and (GrantScope.messages not in viewed.scopes)
    ):
        title = f"{viewed.name} hasn't shared messages with you"
        message = "Ask them to add messages to what they share with you."
    elif session.role is Role.family and viewed is not None:
        title = "No messages yet"
        message = (
            f"Messages between you and {possessive(viewed.name)} care team will appear here. "
            + SAFETY_LINE
        )
    else:
        title = "No messages yet"
        message = "When your care team writes to you, their messages appear here. " + SAFETY_LINE
    return StaticTab(
        widgets.empty_state(
            icon=ft.Icons.CHAT_BUBBLE_OUTLINE,
            title=title,
            message=message,
            identifier="messages-empty",
        )
    )

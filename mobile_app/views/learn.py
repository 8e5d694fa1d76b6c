"""Articles the care team recommends (education arrives with a later issue)."""

import flet as ft

from mobile_app.views import widgets
from mobile_app.views.base import StaticTab, TabContext
from shared.enums import GrantScope


def build_learn(ctx: TabContext) -> StaticTab:
    viewed = ctx.session.viewed_patient
    if (
        viewed is not None
        and viewed.scopes is not None
        and (GrantScope.education not in viewed.scopes)
    ):
        title = f"{viewed.name} hasn't shared their reading list with you"
        message = "Ask them to add learning to what they share with you."
    else:
        title = "Nothing to read yet"
        message = (
            "Articles and videos your care team recommends will appear here, chosen for "
            "your conditions and your plan."
        )
    return StaticTab(
        widgets.empty_state(
            icon=ft.Icons.MENU_BOOK_OUTLINED,
            title=title,
            message=message,
            identifier="learn-empty",
        )
    )

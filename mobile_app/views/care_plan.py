"""The care plan: goals and activities agreed with the care team (a later issue fills it)."""

import flet as ft

from mobile_app.views import widgets
from mobile_app.views.base import StaticTab, TabContext
from shared.enums import GrantScope


def build_care_plan(ctx: TabContext) -> StaticTab:
    viewed = ctx.session.viewed_patient
    if (
        viewed is not None
        and viewed.scopes is not None
        and (GrantScope.care_plan not in viewed.scopes)
    ):
        title = f"{viewed.name} hasn't shared their care plan with you"
        message = "Ask them to add the care plan to what they share with you."
    else:
        title = "No care plan yet"
        message = (
            "When the care team sets goals and activities together, the plan will appear "
            "here with what to do each day."
        )
    return StaticTab(
        widgets.empty_state(
            icon=ft.Icons.ASSIGNMENT_OUTLINED,
            title=title,
            message=message,
            identifier="care-plan-empty",
        )
    )

"""Questionnaires assigned to patients and their scores (arrives with the assessments issue)."""

import flet as ft

from mobile_app.views import widgets
from mobile_app.views.base import StaticTab, TabContext


def build_assessments(_: TabContext) -> StaticTab:
    return StaticTab(
        widgets.empty_state(
            icon=ft.Icons.FACT_CHECK_OUTLINED,
            title="No check-ins to review",
            message="When your patients complete questionnaires such as the PHQ-9, their "
            "answers and scores will appear here, with anything that needs attention first.",
            identifier="assessments-empty",
        )
    )

"""Today, for a patient or a family member: what the care team planned, and who the team is.

Care-plan activities, reminders and check-ins arrive with later issues; until then the screen
says plainly that nothing has been added, instead of showing sample data that could be mistaken
for real instructions. The care team is real: it comes from the API.
"""

import flet as ft

from mobile_app import theme
from mobile_app.stores.care_team import CareTeamStore
from mobile_app.stores.patients import LoadState
from mobile_app.views import widgets
from mobile_app.views.assessments import PatientAssessmentsPanel
from mobile_app.views.base import TabContext
from mobile_app.views.care_plan import shares_care_plan
from mobile_app.views.labels import TEAM_ROLE_LABELS, initials, possessive
from mobile_app.views.plan_today import PlanTodayPanel
from shared.enums import Role
from shared.schemas.patients import CareTeamMemberPublic


class TodayTab:
    def __init__(self, ctx: TabContext) -> None:
        session = ctx.session
        self._ctx = ctx
        self._team: CareTeamStore = ctx.care_team
        me = session.me
        viewed = session.viewed_patient
        first_name = me.full_name.split()[0] if me else ""
        if session.role is Role.family and viewed is not None:
            first = viewed.name.split()[0]
            intro = f"Here is what {possessive(viewed.name)} care team planned for today."
            title = f"{possessive(first)} care team hasn't added anything for today yet"
            team_title = f"{possessive(first)} care team"
            whose = "their"
        else:
            intro = "Here is what your care team planned for today."
            title = "Your care team hasn't added anything for today yet"
            team_title = "Your care team"
            whose = "your"
        message = (
            "Reminders, check-ins and appointments will appear here as soon "
            f"as {whose} care team adds them."
        )
        if viewed is not None and not shares_care_plan(ctx):
            title = f"{viewed.name} hasn't shared their care plan with you"
            message = "Ask them to add the care plan to what they share with you."
        self._members = ft.Column(spacing=theme.SPACE_S)
        self._team_status = widgets.muted("", size=14)
        self._assessments = PatientAssessmentsPanel(ctx) if ctx.assessments else None
        self._plan = (
            PlanTodayPanel(ctx, ctx.careplan) if ctx.careplan and shares_care_plan(ctx) else None
        )
        self._empty = widgets.empty_state(
            icon=ft.Icons.WB_SUNNY_OUTLINED,
            title=title,
            message=message,
            identifier="today-empty",
        )
        self.control = ft.Column(
            [
                widgets.heading(f"Hello, {first_name}", identifier="today-greeting"),
                widgets.muted(intro),
                ft.Container(height=theme.SPACE_XS),
                *([self._plan.control] if self._plan else []),
                *([self._assessments.control] if self._assessments else []),
                self._empty,
                ft.Container(height=theme.SPACE_XS),
                ft.Semantics(
                    identifier="care-team",
                    container=True,
                    content=widgets.card(
                        ft.Column(
                            [
                                ft.Text(
                                    team_title,
                                    size=18,
                                    weight=ft.FontWeight.W_600,
                                    color=theme.TEXT,
                                ),
                                self._team_status,
                                self._members,
                            ],
                            spacing=theme.SPACE_S,
                        )
                    ),
                ),
            ],
            spacing=theme.SPACE_S,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        if viewed is not None and (
            self._team.patient_id != viewed.patient_id or self._team.state is LoadState.idle
        ):
            ctx.page.run_task(self._team.load, viewed.patient_id)
        self.refresh()

    def refresh(self) -> None:
        if self._plan is not None:
            self._plan.refresh()
            self._empty.visible = not self._plan.has_items
        if self._assessments is not None:
            self._assessments.refresh()
            # The form gets the whole screen: one question at a time, nothing else to scroll.
            answering = self._assessments.form_open
            for control in self.control.controls:
                control.visible = control is self._assessments.control or not answering
        team = self._team
        viewed = self._ctx.session.viewed_patient
        current = viewed is not None and team.patient_id == viewed.patient_id
        members = team.members if current else []
        if team.state is LoadState.failed and current:
            self._team_status.value = team.error or "The care team could not be loaded."
        elif not members and team.state is LoadState.loaded:
            self._team_status.value = "No one has been added to the care team yet."
        elif not members:
            self._team_status.value = "Loading the care team…"
        else:
            self._team_status.value = "The people who look after this care plan."
        self._members.controls = [_member_row(m) for m in members]


def _member_row(member: CareTeamMemberPublic) -> ft.Control:
    return ft.Row(
        [
            ft.CircleAvatar(
                content=ft.Text(initials(member.full_name), size=14, weight=ft.FontWeight.W_600),
                bgcolor=theme.PRIMARY_SOFT,
                color=theme.PRIMARY_DARK,
                radius=20,
            ),
            ft.Column(
                [
                    ft.Text(
                        member.full_name, size=16, weight=ft.FontWeight.W_500, color=theme.TEXT
                    ),
                    ft.Text(TEAM_ROLE_LABELS[member.team_role], size=14, color=theme.TEXT_MUTED),
                ],
                spacing=0,
                expand=True,
            ),
        ],
        spacing=theme.SPACE_M,
    )

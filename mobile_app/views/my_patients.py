"""My patients: the staff member's caseload, from GET /patients, as the server returns it.
Tapping a patient (or their "Care plan" button) opens the care-plan editor in place."""

from collections.abc import Callable
from datetime import date

import flet as ft

from mobile_app import theme
from mobile_app.stores.patients import LoadState, PatientListStore, age_on
from mobile_app.views import widgets
from mobile_app.views.base import TabContext
from mobile_app.views.labels import initials
from mobile_app.views.plan_editor import PlanEditor
from shared.enums import AccessBasis
from shared.schemas.patients import PatientSummary


def format_birth_date(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


class MyPatientsTab:
    def __init__(self, ctx: TabContext) -> None:
        self._ctx = ctx
        self._store: PatientListStore = ctx.patients
        self._summary = widgets.muted("")
        self._refresh_button = ft.IconButton(
            icon=ft.Icons.REFRESH,
            tooltip="Refresh patient list",
            on_click=self._reload,
            icon_color=theme.PRIMARY,
        )
        self._banner, self._show_banner = widgets.banner("patients-message")
        self._progress = ft.ProgressBar(color=theme.PRIMARY, bgcolor=theme.PRIMARY_SOFT)
        self._list = ft.Column(
            spacing=theme.SPACE_S, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
        )
        self._editor = PlanEditor(ctx, ctx.careplan) if ctx.careplan else None
        self._caseload = ft.Column(
            [
                ft.Row(
                    [ft.Container(self._summary, expand=True), self._refresh_button],
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                self._progress,
                self._banner,
                ft.Semantics(identifier="patient-list", container=True, content=self._list),
            ],
            spacing=theme.SPACE_S,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        self.control = ft.Column(
            [self._caseload, *([self._editor.control] if self._editor else [])],
            spacing=theme.SPACE_S,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        if self._store.state is LoadState.idle:
            ctx.page.run_task(self._store.load)
        self.refresh()

    def refresh(self) -> None:
        editing = self._editor is not None and self._ctx.careplan.editor_name is not None
        self._caseload.visible = not editing
        if self._editor is not None:
            self._editor.control.visible = editing
            if editing:
                self._editor.refresh()
                return
        store = self._store
        loading = store.state is LoadState.loading
        self._progress.visible = loading
        self._refresh_button.disabled = loading
        self._show_banner(store.error, widgets.BannerKind.error)
        if store.state is LoadState.loading and not store.patients:
            self._summary.value = "Loading your patients…"
        elif store.state is LoadState.failed and not store.patients:
            self._summary.value = "Your patient list could not be loaded."
        else:
            count = len(store.patients)
            self._summary.value = f"{count} patient{'s' if count != 1 else ''} on your care teams"
        today = date.today()
        if store.state is LoadState.loaded and not store.patients:
            self._list.controls = [
                widgets.empty_state(
                    icon=ft.Icons.PEOPLE_OUTLINE,
                    title="No patients yet",
                    message="Patients appear here once a care manager adds you to their care team.",
                    identifier="patients-empty",
                )
            ]
        else:
            self._list.controls = [_patient_row(p, today, self._open) for p in store.patients]

    def _open(self, patient: PatientSummary) -> None:
        """The patient's care plan: edit it, read adherence and the version history."""
        careplan = self._ctx.careplan
        if careplan is None:
            return
        self._ctx.session.record_activity()
        self._ctx.page.run_task(careplan.open_editor, patient.id, patient.full_name)

    async def _reload(self, _: ft.ControlEvent) -> None:
        self._ctx.session.record_activity()
        await self._store.load()


def _patient_row(
    patient: PatientSummary, today: date, on_open: Callable[[PatientSummary], None]
) -> ft.Control:
    details = [
        ft.Text(
            f"{age_on(patient.birth_date, today)} years · born "
            f"{format_birth_date(patient.birth_date)}",
            size=14,
            color=theme.TEXT_MUTED,
        ),
        ft.Text(f"MRN {patient.mrn}", size=14, color=theme.TEXT_MUTED),
    ]
    trailing: list[ft.Control] = []
    if patient.access is AccessBasis.emergency:
        trailing.append(
            ft.Container(
                content=ft.Text("Emergency access", size=12, color=theme.ERROR),
                bgcolor=theme.ERROR_SOFT,
                border_radius=6,
                padding=ft.Padding.symmetric(horizontal=8, vertical=4),
            )
        )
    return ft.Semantics(
        identifier=f"patient-{patient.id}",
        container=True,
        content=widgets.card(
            ft.Row(
                [
                    ft.CircleAvatar(
                        content=ft.Text(
                            initials(patient.full_name), size=15, weight=ft.FontWeight.W_600
                        ),
                        bgcolor=theme.PRIMARY_SOFT,
                        color=theme.PRIMARY_DARK,
                        radius=22,
                    ),
                    ft.Semantics(
                        container=True,
                        expand=True,
                        content=ft.Column(
                            [
                                ft.Text(
                                    patient.full_name,
                                    size=17,
                                    weight=ft.FontWeight.W_600,
                                    color=theme.TEXT,
                                ),
                                ft.Row(details, spacing=theme.SPACE_M, run_spacing=0, wrap=True),
                            ],
                            spacing=2,
                        ),
                    ),
                    *trailing,
                    ft.Semantics(
                        identifier=f"care-plan-{patient.id}",
                        button=True,
                        label=f"Care plan for {patient.full_name}",
                        content=ft.OutlinedButton(
                            content=ft.Text("Care plan", size=15),
                            icon=ft.Icons.ASSIGNMENT_OUTLINED,
                            height=theme.TOUCH_TARGET,
                            on_click=lambda _: on_open(patient),
                            style=ft.ButtonStyle(shape=ft.RoundedRectangleBorder(radius=10)),
                        ),
                    ),
                ],
                spacing=theme.SPACE_M,
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            padding=theme.SPACE_M,
        ),
    )

"""My patients: the staff member's caseload, from GET /patients, as the server returns it."""

from datetime import date

import flet as ft

from mobile_app import theme
from mobile_app.stores.patients import LoadState, PatientListStore, age_on
from mobile_app.views import widgets
from mobile_app.views.base import TabContext
from mobile_app.views.labels import initials
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
        self.control = ft.Column(
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
        if self._store.state is LoadState.idle:
            ctx.page.run_task(self._store.load)
        self.refresh()

    def refresh(self) -> None:
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
            self._list.controls = [_patient_row(p, today) for p in store.patients]

    async def _reload(self, _: ft.ControlEvent) -> None:
        self._ctx.session.record_activity()
        await self._store.load()


def _patient_row(patient: PatientSummary, today: date) -> ft.Control:
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
                    ft.Column(
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
                        expand=True,
                    ),
                    *trailing,
                ],
                spacing=theme.SPACE_M,
            ),
            padding=theme.SPACE_M,
        ),
    )

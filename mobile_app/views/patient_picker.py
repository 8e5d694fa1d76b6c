"""For a family member with several patients: choose whose care the screens show.

Nothing about any patient's care is shown until a choice is made, so a family member never
mistakes one relative's plan for another's.
"""

import flet as ft

from mobile_app import theme
from mobile_app.stores.session import SessionStore
from mobile_app.views import widgets
from mobile_app.views.labels import initials, scopes_sentence
from shared.schemas.identity import ProxyPatient


class PatientPickerScreen:
    appbar: ft.AppBar | None = None
    navigation_bar: ft.NavigationBar | None = None

    def __init__(self, session: SessionStore, *, page_width: float | None) -> None:
        self._session = session
        me = session.me
        greeting = f"Hello, {me.full_name.split()[0]}" if me else "Hello"
        choices = [self._choice(proxy) for proxy in session.proxies] or [_nothing_shared()]
        self._frame = widgets.FormFrame(
            ft.Column(
                [
                    widgets.brand_mark(48),
                    ft.Text(greeting, size=16, color=theme.TEXT_MUTED),
                    *_title(has_choices=bool(session.proxies)),
                    ft.Container(height=theme.SPACE_S),
                    ft.Semantics(
                        identifier="patient-picker",
                        container=True,
                        content=ft.Column(choices, spacing=theme.SPACE_M),
                    ),
                    ft.Container(height=theme.SPACE_S),
                    ft.Row(
                        [
                            ft.TextButton(
                                content=ft.Text("Sign out", size=15),
                                on_click=self._sign_out,
                                height=theme.TOUCH_TARGET,
                            )
                        ],
                        alignment=ft.MainAxisAlignment.CENTER,
                    ),
                ],
                spacing=theme.SPACE_S,
            ),
            page_width,
        )
        self.control = self._frame.control

    def set_width(self, page_width: float | None) -> None:
        self._frame.set_width(page_width)

    def refresh(self) -> None:
        """The choices come from the signed-in profile and do not change while shown."""

    def _choice(self, proxy: ProxyPatient) -> ft.Control:
        def choose(_: ft.ControlEvent) -> None:
            self._session.select_patient(proxy.patient_id)

        return ft.Semantics(
            button=True,
            label=f"View care for {proxy.patient_name}",
            content=ft.Container(
                on_click=choose,
                ink=True,
                bgcolor=theme.SURFACE,
                border=ft.Border.all(1, theme.BORDER),
                border_radius=theme.RADIUS,
                padding=theme.SPACE_M,
                content=ft.Row(
                    [
                        ft.CircleAvatar(
                            content=ft.Text(
                                initials(proxy.patient_name), size=16, weight=ft.FontWeight.W_600
                            ),
                            bgcolor=theme.PRIMARY_SOFT,
                            color=theme.PRIMARY_DARK,
                            radius=24,
                        ),
                        ft.Column(
                            [
                                ft.Text(
                                    proxy.patient_name,
                                    size=17,
                                    weight=ft.FontWeight.W_600,
                                    color=theme.TEXT,
                                ),
                                ft.Text(
                                    f"Relationship: {proxy.relationship}",
                                    size=14,
                                    color=theme.TEXT_MUTED,
                                ),
                                ft.Text(
                                    f"Shared with you: {scopes_sentence(proxy.scopes)}",
                                    size=13,
                                    color=theme.TEXT_MUTED,
                                ),
                            ],
                            spacing=2,
                            expand=True,
                        ),
                        ft.Icon(ft.Icons.CHEVRON_RIGHT, color=theme.TEXT_MUTED),
                    ],
                    spacing=theme.SPACE_M,
                ),
            ),
        )

    async def _sign_out(self, _: ft.ControlEvent) -> None:
        await self._session.sign_out()


def _title(*, has_choices: bool) -> list[ft.Control]:
    if not has_choices:
        return [widgets.heading("No one is sharing their care with you", identifier="picker-title")]
    return [
        widgets.heading("Whose care are you viewing?", identifier="picker-title"),
        widgets.muted("You can switch at any time from the top of the screen."),
    ]


def _nothing_shared() -> ft.Control:
    """Access ends when a patient revokes it or it expires; say so rather than show empty tabs."""
    return widgets.empty_state(
        icon=ft.Icons.LOCK_PERSON_OUTLINED,
        title="Nothing to show right now",
        message="Access that a patient shared with you has ended or was withdrawn. If you "
        "expected to see someone's care, ask them or their care team to invite you again.",
        identifier="picker-empty",
    )

"""The sign-in screen: email and password, with the server's message when it fails."""

import flet as ft

from mobile_app import theme
from mobile_app.stores.session import SessionStore
from mobile_app.views import widgets
from mobile_app.views.widgets import BannerKind


class LoginScreen:
    appbar: ft.AppBar | None = None
    navigation_bar: ft.NavigationBar | None = None

    def __init__(self, session: SessionStore, *, page_width: float | None) -> None:
        self._session = session
        email_box, self._email = widgets.text_field(
            "Email address",
            identifier="login-email",
            autofocus=True,
            keyboard_type=ft.KeyboardType.EMAIL,
            autofill=ft.AutofillHint.EMAIL,
            on_submit=self._submit,
        )
        password_box, self._password = widgets.text_field(
            "Password",
            identifier="login-password",
            password=True,
            autofill=ft.AutofillHint.PASSWORD,
            on_submit=self._submit,
        )
        self._banner, self._show_banner = widgets.banner("login-message")
        self._button = widgets.primary_button("Sign in", on_click=self._submit)
        self._button.width = float("inf")
        self._frame = widgets.FormFrame(
            ft.Column(
                [
                    ft.Row([widgets.brand_mark()], alignment=ft.MainAxisAlignment.CENTER),
                    ft.Container(height=theme.SPACE_S),
                    ft.Row(
                        [widgets.heading("CareCircle", size=28, identifier="login-title")],
                        alignment=ft.MainAxisAlignment.CENTER,
                    ),
                    ft.Text(
                        "Sign in to stay connected with your care team.",
                        size=16,
                        color=theme.TEXT_MUTED,
                        text_align=ft.TextAlign.CENTER,
                    ),
                    ft.Container(height=theme.SPACE_M),
                    widgets.card(
                        ft.Column(
                            [email_box, password_box, self._banner, self._button],
                            spacing=theme.SPACE_M,
                            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                        )
                    ),
                    ft.Container(height=theme.SPACE_S),
                    ft.Text(
                        "Trouble signing in? Call your clinic; they can send you a new invitation.",
                        size=14,
                        color=theme.TEXT_MUTED,
                        text_align=ft.TextAlign.CENTER,
                    ),
                ],
                spacing=theme.SPACE_S,
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            ),
            page_width,
        )
        self.control = self._frame.control
        self.refresh()

    def set_width(self, page_width: float | None) -> None:
        self._frame.set_width(page_width)

    def refresh(self) -> None:
        session = self._session
        if session.error:
            self._show_banner(session.error, BannerKind.error)
        else:
            self._show_banner(session.notice, BannerKind.notice)
        self._button.disabled = session.busy
        label = self._button.content
        if isinstance(label, ft.Text):
            label.value = "Signing in…" if session.busy else "Sign in"

    async def _submit(self, _: ft.ControlEvent) -> None:
        if self._session.busy:
            return
        ok = await self._session.sign_in(self._email.value, self._password.value)
        if not ok:
            self._password.value = ""
            self._password.update()

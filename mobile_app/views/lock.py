"""The idle lock: after five quiet minutes the screen hides everything until the password is
entered again. The session stays alive, so unlocking returns to the same place."""

import flet as ft

from mobile_app import theme
from mobile_app.stores.session import SessionStore
from mobile_app.views import widgets
from mobile_app.views.labels import duration


class LockScreen:
    appbar: ft.AppBar | None = None
    navigation_bar: ft.NavigationBar | None = None

    def __init__(self, session: SessionStore, *, page_width: float | None) -> None:
        self._session = session
        me = session.me
        first_name = me.full_name.split()[0] if me and me.full_name else ""
        password_box, self._password = widgets.text_field(
            "Password",
            identifier="lock-password",
            password=True,
            autofocus=True,
            autofill=ft.AutofillHint.PASSWORD,
            on_submit=self._unlock,
        )
        self._banner, self._show_banner = widgets.banner("lock-message")
        self._button = widgets.primary_button(
            "Unlock", on_click=self._unlock, icon=ft.Icons.LOCK_OPEN
        )
        self._sign_out = ft.TextButton(
            content=ft.Text("Sign out instead", size=15),
            on_click=self._sign_out_clicked,
            height=theme.TOUCH_TARGET,
        )
        self._frame = widgets.FormFrame(
            ft.Column(
                [
                    ft.Row(
                        [
                            ft.Container(
                                content=ft.Icon(
                                    ft.Icons.LOCK_OUTLINE, size=30, color=theme.PRIMARY
                                ),
                                bgcolor=theme.PRIMARY_SOFT,
                                width=64,
                                height=64,
                                border_radius=32,
                                alignment=ft.Alignment.CENTER,
                            )
                        ],
                        alignment=ft.MainAxisAlignment.CENTER,
                    ),
                    ft.Row(
                        [widgets.heading("CareCircle is locked", identifier="lock-title")],
                        alignment=ft.MainAxisAlignment.CENTER,
                    ),
                    ft.Text(
                        "For your privacy we lock the app after "
                        f"{duration(session.idle_lock_seconds)} without activity. "
                        f"{first_name}, enter your password to continue.".strip(),
                        size=15,
                        color=theme.TEXT_MUTED,
                        text_align=ft.TextAlign.CENTER,
                    ),
                    ft.Container(height=theme.SPACE_S),
                    widgets.card(
                        ft.Column(
                            [password_box, self._banner, self._button],
                            spacing=theme.SPACE_M,
                            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                        )
                    ),
                    ft.Row([self._sign_out], alignment=ft.MainAxisAlignment.CENTER),
                ],
                spacing=theme.SPACE_M,
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            ),
            page_width,
        )
        self.control = self._frame.control
        self.refresh()

    def set_width(self, page_width: float | None) -> None:
        self._frame.set_width(page_width)

    def refresh(self) -> None:
        self._show_banner(self._session.error, widgets.BannerKind.error)
        self._button.disabled = self._session.busy
        self._sign_out.disabled = self._session.busy

    async def _unlock(self, _: ft.ControlEvent) -> None:
        if self._session.busy:
            return
        if not await self._session.unlock(self._password.value) and self._session.me:
            self._password.value = ""
            self._password.update()

    async def _sign_out_clicked(self, _: ft.ControlEvent) -> None:
        await self._session.sign_out()

"""Profile: who is signed in, for which organization, and the account's security actions."""

import flet as ft

from mobile_app import theme
from mobile_app.stores.session import SessionStore
from mobile_app.views import widgets
from mobile_app.views.base import TabContext
from mobile_app.views.labels import ROLE_LABELS, duration, initials
from mobile_app.views.notification_settings import NotificationPreferencesSection


class ProfileTab:
    def __init__(self, ctx: TabContext) -> None:
        self._ctx = ctx
        self._session: SessionStore = ctx.session
        self._dialog: ft.AlertDialog | None = None
        me = self._session.me
        assert me is not None, "the profile is only built for a signed-in person"
        self._banner, self._show_banner = widgets.banner("profile-message")

        identity = widgets.card(
            ft.Row(
                [
                    ft.CircleAvatar(
                        content=ft.Text(
                            initials(me.full_name), size=22, weight=ft.FontWeight.W_600
                        ),
                        bgcolor=theme.PRIMARY_SOFT,
                        color=theme.PRIMARY_DARK,
                        radius=32,
                    ),
                    ft.Column(
                        [
                            ft.Semantics(
                                identifier="profile-name",
                                content=ft.Text(
                                    me.full_name,
                                    size=20,
                                    weight=ft.FontWeight.W_600,
                                    color=theme.TEXT,
                                ),
                            ),
                            ft.Semantics(
                                identifier="profile-role",
                                content=ft.Text(
                                    ROLE_LABELS[me.role], size=15, color=theme.PRIMARY_DARK
                                ),
                            ),
                            ft.Text(me.organization.name, size=15, color=theme.TEXT_MUTED),
                            ft.Text(me.email, size=14, color=theme.TEXT_MUTED),
                        ],
                        spacing=2,
                        expand=True,
                    ),
                ],
                spacing=theme.SPACE_L,
            )
        )

        security = widgets.card(
            ft.Column(
                [
                    ft.Text("Security", size=18, weight=ft.FontWeight.W_600, color=theme.TEXT),
                    widgets.muted(
                        f"CareCircle locks after {duration(self._session.idle_lock_seconds)}"
                        " without activity. Sign out when you use a shared device."
                    ),
                    ft.Container(height=theme.SPACE_XS),
                    widgets.secondary_button(
                        "Change password",
                        on_click=self._open_password_dialog,
                        icon=ft.Icons.PASSWORD,
                    ),
                    widgets.primary_button(
                        "Sign out", on_click=self._sign_out, icon=ft.Icons.LOGOUT
                    ),
                    ft.TextButton(
                        content=ft.Text("Sign out of all devices", size=15, color=theme.ERROR),
                        icon=ft.Icons.DEVICES_OTHER,
                        icon_color=theme.ERROR,
                        on_click=self._confirm_sign_out_everywhere,
                        height=theme.TOUCH_TARGET,
                    ),
                ],
                spacing=theme.SPACE_S,
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            )
        )
        self._notifications = (
            NotificationPreferencesSection(
                page=ctx.page,
                session=self._session,
                store=ctx.notifications,
                compact=ctx.compact,
            )
            if ctx.notifications is not None
            else None
        )
        sections = [self._notifications.control] if self._notifications else []
        self.control = ft.Column(
            [self._banner, identity, *sections, security],
            spacing=theme.SPACE_M,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        self.refresh()

    def refresh(self) -> None:
        if self._notifications is not None:
            self._notifications.refresh()
        session = self._session
        if self._dialog is not None:
            # The open dialog shows errors itself; the page only shows confirmations.
            self._show_banner(session.notice, widgets.BannerKind.notice)
        elif session.error:
            self._show_banner(session.error, widgets.BannerKind.error)
        else:
            self._show_banner(session.notice, widgets.BannerKind.notice)

    # -- actions ----------------------------------------------------------------------------

    async def _sign_out(self, _: ft.ControlEvent) -> None:
        await self._session.sign_out()

    def _open_password_dialog(self, _: ft.ControlEvent) -> None:
        self._session.record_activity()
        self._session.clear_messages()
        current_box, current = widgets.text_field(
            "Current password", identifier="password-current", password=True, autofocus=True
        )
        new_box, new = widgets.text_field("New password", identifier="password-new", password=True)
        confirm_box, confirm = widgets.text_field(
            "Repeat new password", identifier="password-confirm", password=True
        )
        banner, show_banner = widgets.banner("password-message")
        save = ft.FilledButton(content="Change password")
        cancel = ft.TextButton(content="Cancel")

        async def submit(_: ft.ControlEvent) -> None:
            if self._session.busy:
                return
            ok = await self._session.change_password(current.value, new.value, confirm.value)
            if ok:
                self._close_dialog()
            elif self._dialog is not None:
                show_banner(self._session.error, widgets.BannerKind.error)
                self._dialog.update()

        def dismiss(_: ft.ControlEvent) -> None:
            self._close_dialog()

        save.on_click = submit
        cancel.on_click = dismiss
        confirm.on_submit = submit
        self._open_dialog(
            ft.AlertDialog(
                modal=True,
                bgcolor=theme.SURFACE,
                title=ft.Text("Change password"),
                content=ft.Column(
                    [
                        widgets.muted(
                            "Use at least 10 characters. Your other devices will be signed out."
                        ),
                        current_box,
                        new_box,
                        confirm_box,
                        banner,
                    ],
                    tight=True,
                    spacing=theme.SPACE_M,
                    width=theme.FORM_MAX_WIDTH,
                    horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                ),
                actions=[cancel, save],
            )
        )

    def _confirm_sign_out_everywhere(self, _: ft.ControlEvent) -> None:
        self._session.record_activity()

        async def confirm(_: ft.ControlEvent) -> None:
            self._close_dialog()
            await self._session.sign_out_everywhere()

        def dismiss(_: ft.ControlEvent) -> None:
            self._close_dialog()

        self._open_dialog(
            ft.AlertDialog(
                modal=True,
                bgcolor=theme.SURFACE,
                title=ft.Text("Sign out of all devices?"),
                content=ft.Text(
                    "You'll be signed out here and on every phone, tablet or computer where "
                    "you use CareCircle.",
                    width=theme.FORM_MAX_WIDTH,
                ),
                actions=[
                    ft.TextButton(content="Cancel", on_click=dismiss),
                    ft.FilledButton(
                        content="Sign out everywhere",
                        on_click=confirm,
                        style=ft.ButtonStyle(bgcolor=theme.ERROR),
                    ),
                ],
            )
        )

    def _open_dialog(self, dialog: ft.AlertDialog) -> None:
        self._dialog = dialog
        self._ctx.page.show_dialog(dialog)

    def _close_dialog(self) -> None:
        if self._dialog is not None:
            self._dialog = None
            self._ctx.page.pop_dialog()
            self.refresh()

"""Profile's "Notifications" section: what is pushed to the person's phone, quiet hours, and a
test notification.

Every change is saved at once through the notifications store; the controls show what the
server answered, so a refused change springs back and says why. Alerts and security notices
cannot be switched off, and the section says so rather than showing a switch that does nothing.
"""

from collections.abc import Awaitable, Callable
from datetime import time

import flet as ft

from mobile_app import theme
from mobile_app.stores.notifications import CATEGORY_LABELS, NotificationsStore
from mobile_app.stores.session import SessionStore
from mobile_app.views import widgets
from shared.enums import OPTIONAL_CATEGORIES

CATEGORY_HINTS = {
    "messages": "When someone writes to you in CareCircle.",
    "reminders": "Medicines, appointments and care plan activities.",
    "assessments": "When a questionnaire is ready, and its results.",
    "education": "Articles and videos shared with you.",
}
DEFAULT_QUIET_START = "22:00"
DEFAULT_QUIET_END = "07:00"
TIME_STEP_MINUTES = 30


def clock_key(value: time) -> str:
    return f"{value:%H:%M}"


def clock_label(value: time) -> str:
    """22:00 -> "10:00 PM"."""
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def time_choices(*extra: time | None) -> list[time]:
    """Every half hour of the day, plus any saved time that falls between them."""
    choices = {time(m // 60, m % 60) for m in range(0, 24 * 60, TIME_STEP_MINUTES)}
    choices.update(t.replace(second=0, microsecond=0) for t in extra if t is not None)
    return sorted(choices)


class NotificationPreferencesSection:
    def __init__(
        self,
        *,
        page: ft.Page,
        session: SessionStore,
        store: NotificationsStore,
        compact: bool = False,
    ) -> None:
        self._page = page
        self._compact = compact
        self._session = session
        self._store = store
        store.dismiss_messages()
        self._banner, self._show_banner = widgets.banner("notification-preferences-message")
        self._loading = widgets.muted("Loading your notification settings…", size=14)

        self._switches: dict[str, ft.Switch] = {}
        category_rows: list[ft.Control] = []
        for category in OPTIONAL_CATEGORIES:
            switch = ft.Switch(
                value=True,
                on_change=_bound(self._set_category, str(category)),
                active_color=theme.PRIMARY,
            )
            self._switches[category] = switch
            category_rows.append(
                _setting_row(
                    identifier=f"notification-pref-{category}",
                    title=CATEGORY_LABELS[category],
                    hint=CATEGORY_HINTS[category],
                    control=switch,
                )
            )

        always_on = ft.Semantics(
            identifier="notification-pref-always-on",
            container=True,
            content=ft.Container(
                content=ft.Row(
                    [
                        ft.Icon(ft.Icons.LOCK_OUTLINE, size=20, color=theme.PRIMARY_DARK),
                        ft.Column(
                            [
                                ft.Text(
                                    "Care alerts and account security",
                                    size=15,
                                    weight=ft.FontWeight.W_600,
                                    color=theme.TEXT,
                                ),
                                ft.Text(
                                    "Always on. These can't be turned off, so nothing "
                                    "important about your care or your account is missed.",
                                    size=13,
                                    color=theme.TEXT_MUTED,
                                ),
                            ],
                            spacing=2,
                            expand=True,
                        ),
                    ],
                    spacing=theme.SPACE_M,
                    vertical_alignment=ft.CrossAxisAlignment.START,
                ),
                bgcolor=theme.BACKGROUND,
                border_radius=10,
                padding=ft.Padding.symmetric(horizontal=theme.SPACE_M, vertical=12),
            ),
        )

        self._quiet = ft.Switch(
            value=False, on_change=self._toggle_quiet_hours, active_color=theme.PRIMARY
        )
        self._start = self._time_dropdown("Starts at")
        self._end = self._time_dropdown("Ends at")
        self._zone = ft.Text("", size=13, color=theme.TEXT_MUTED)
        self._quiet_now = ft.Container(
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.BEDTIME_OUTLINED, size=16, color=theme.PRIMARY_DARK),
                    ft.Text("Quiet hours are on now", size=13, color=theme.PRIMARY_DARK),
                ],
                spacing=4,
                tight=True,
            ),
            bgcolor=theme.PRIMARY_SOFT,
            border_radius=6,
            padding=ft.Padding.symmetric(horizontal=8, vertical=3),
            visible=False,
        )
        self._urgent = ft.Switch(
            value=True, on_change=self._toggle_urgent_override, active_color=theme.PRIMARY
        )
        urgent_row = (
            _setting_row(
                identifier="urgent-override",
                title="Urgent care-team alerts may come through during quiet hours",
                hint="For example a patient's answers that need attention today.",
                control=self._urgent,
            )
            if session.is_staff
            else None
        )

        self._test_result_icon = ft.Icon(ft.Icons.CHECK_CIRCLE_OUTLINE, size=20)
        self._test_result_text = ft.Text("", size=14, expand=True)
        self._test_result = ft.Container(
            content=ft.Semantics(
                identifier="test-push-result",
                live_region=True,
                content=ft.Row(
                    [self._test_result_icon, self._test_result_text],
                    spacing=theme.SPACE_S,
                    vertical_alignment=ft.CrossAxisAlignment.START,
                ),
            ),
            border_radius=8,
            padding=ft.Padding.symmetric(horizontal=theme.SPACE_M, vertical=10),
            visible=False,
        )
        self._test_button = widgets.secondary_button(
            "Send a test notification",
            on_click=self._send_test,
            icon=ft.Icons.NOTIFICATIONS_ACTIVE_OUTLINED,
        )

        self._controls = ft.Column(
            [
                *category_rows,
                always_on,
                ft.Divider(height=theme.SPACE_M, color=theme.BORDER),
                _setting_row(
                    identifier="quiet-hours",
                    title="Quiet hours",
                    hint="No sounds or banners at night. Everything waits for you here.",
                    control=self._quiet,
                ),
                ft.Container(
                    content=ft.Row(
                        [
                            ft.Semantics(
                                identifier="quiet-hours-start",
                                content=self._start,
                                expand=compact or None,
                            ),
                            ft.Semantics(
                                identifier="quiet-hours-end",
                                content=self._end,
                                expand=compact or None,
                            ),
                        ],
                        spacing=theme.SPACE_M,
                        wrap=not compact,
                        run_spacing=theme.SPACE_S,
                    ),
                    padding=ft.Padding.only(top=theme.SPACE_XS),
                ),
                ft.Row(
                    [
                        ft.Icon(ft.Icons.PUBLIC, size=16, color=theme.TEXT_MUTED),
                        ft.Semantics(identifier="quiet-hours-zone", content=self._zone),
                    ],
                    spacing=6,
                ),
                self._quiet_now,
                *([urgent_row] if urgent_row else []),
                ft.Divider(height=theme.SPACE_M, color=theme.BORDER),
                widgets.muted(
                    "Check that notifications reach your phone or tablet.",
                    size=14,
                ),
                ft.Semantics(identifier="test-push-button", content=self._test_button),
                self._test_result,
            ],
            spacing=theme.SPACE_S,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        self.control = ft.Semantics(
            identifier="notification-preferences",
            container=True,
            content=widgets.card(
                ft.Column(
                    [
                        ft.Row(
                            [
                                ft.Icon(
                                    ft.Icons.NOTIFICATIONS_OUTLINED,
                                    size=22,
                                    color=theme.PRIMARY_DARK,
                                ),
                                widgets.heading("Notifications", size=18),
                            ],
                            spacing=theme.SPACE_S,
                        ),
                        widgets.muted(
                            "Choose what CareCircle sends to your phone. Everything also "
                            "appears under the bell at the top of the screen."
                        ),
                        self._banner,
                        self._loading,
                        self._controls,
                    ],
                    spacing=theme.SPACE_S,
                    horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                )
            ),
        )
        if store.preferences is None:
            page.run_task(store.load_preferences)
        self.refresh()

    def refresh(self) -> None:
        store = self._store
        prefs = store.preferences
        self._show_banner(store.error, widgets.BannerKind.error)
        self._loading.visible = prefs is None and not store.error
        self._controls.visible = prefs is not None
        self._render_test_result()
        if prefs is None:
            return
        for category, switch in self._switches.items():
            switch.value = bool(getattr(prefs, category))
        quiet = prefs.quiet_hours_start is not None and prefs.quiet_hours_end is not None
        self._quiet.value = quiet
        choices = time_choices(prefs.quiet_hours_start, prefs.quiet_hours_end)
        for dropdown, saved, default in (
            (self._start, prefs.quiet_hours_start, DEFAULT_QUIET_START),
            (self._end, prefs.quiet_hours_end, DEFAULT_QUIET_END),
        ):
            dropdown.options = [
                ft.DropdownOption(key=clock_key(t), text=clock_label(t)) for t in choices
            ]
            dropdown.value = clock_key(saved) if saved is not None else default
            dropdown.disabled = not quiet
        self._zone.value = f"Times are in your time zone: {prefs.effective_timezone}"
        self._quiet_now.visible = quiet and prefs.in_quiet_hours
        self._urgent.value = prefs.urgent_overrides_quiet_hours
        self._urgent.disabled = not quiet

    def _render_test_result(self) -> None:
        store = self._store
        devices = store.test_push_devices
        self._test_result.visible = bool(store.notice)
        if not store.notice:
            return
        sent = bool(devices)
        color = theme.SUCCESS if sent else theme.PRIMARY_DARK
        self._test_result_text.value = store.notice
        self._test_result_text.color = color
        self._test_result_icon.icon = (
            ft.Icons.CHECK_CIRCLE_OUTLINE if sent else ft.Icons.INFO_OUTLINE
        )
        self._test_result_icon.color = color
        self._test_result.bgcolor = theme.SUCCESS_SOFT if sent else theme.PRIMARY_SOFT

    def _time_dropdown(self, label: str) -> ft.Dropdown:
        return ft.Dropdown(
            label=label,
            width=None if self._compact else 170,
            expand=self._compact or None,
            menu_height=320,
            text_size=16,
            border_radius=10,
            border_color=theme.BORDER,
            focused_border_color=theme.PRIMARY,
            bgcolor=theme.SURFACE,
            on_select=self._change_quiet_hours,
            enable_search=False,
        )

    # -- actions ----------------------------------------------------------------------------

    async def _set_category(self, category: str, e: ft.ControlEvent) -> None:
        self._session.record_activity()
        await self._store.set_category(category, bool(e.control.value))

    async def _toggle_quiet_hours(self, e: ft.ControlEvent) -> None:
        self._session.record_activity()
        if e.control.value:
            await self._store.set_quiet_hours(
                self._start.value or DEFAULT_QUIET_START,
                self._end.value or DEFAULT_QUIET_END,
            )
        else:
            await self._store.set_quiet_hours("", "")

    async def _change_quiet_hours(self, _: ft.ControlEvent) -> None:
        self._session.record_activity()
        if not self._quiet.value:
            return
        await self._store.set_quiet_hours(self._start.value or "", self._end.value or "")

    async def _toggle_urgent_override(self, e: ft.ControlEvent) -> None:
        self._session.record_activity()
        await self._store.set_urgent_override(bool(e.control.value))

    async def _send_test(self, _: ft.ControlEvent) -> None:
        self._session.record_activity()
        self._test_button.disabled = True
        self._test_button.update()
        try:
            await self._store.send_test_push()
        finally:
            self._test_button.disabled = False


def _setting_row(*, identifier: str, title: str, hint: str, control: ft.Control) -> ft.Control:
    """A setting's name and what it means on the left, its switch on the right (the switch is
    named after the setting for screen readers, and carries the identifier)."""
    return ft.Semantics(
        container=True,
        content=ft.Row(
            [
                ft.Column(
                    [
                        ft.Text(title, size=16, weight=ft.FontWeight.W_500, color=theme.TEXT),
                        ft.Text(hint, size=13, color=theme.TEXT_MUTED),
                    ],
                    spacing=2,
                    expand=True,
                ),
                ft.Semantics(identifier=identifier, label=title, content=control),
            ],
            spacing=theme.SPACE_M,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),
    )


def _bound(
    action: Callable[[str, ft.ControlEvent], Awaitable[None]], key: str
) -> Callable[[ft.ControlEvent], Awaitable[None]]:
    async def handle(e: ft.ControlEvent) -> None:
        await action(key, e)

    return handle

"""The bell in the header and the notification center it opens.

The bell shows how many notifications are unread; the center lists them newest first and
follows a notification's `link` when it is tapped (e.g. `/messages/<conversation id>` opens that
conversation). Both only render the notifications store, which the websocket keeps current, so
a new notification appears while the center is open.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import flet as ft

from mobile_app import theme
from mobile_app.stores.notifications import NotificationsStore
from mobile_app.stores.patients import LoadState
from mobile_app.stores.session import SessionStore
from mobile_app.views import widgets
from shared.enums import NotificationCategory
from shared.schemas.notifications import NotificationPublic

CENTER_WIDTH = 480

CATEGORY_ICONS = {
    NotificationCategory.messages: ft.Icons.CHAT_BUBBLE_OUTLINE,
    NotificationCategory.reminders: ft.Icons.ALARM,
    NotificationCategory.assessments: ft.Icons.FACT_CHECK_OUTLINED,
    NotificationCategory.education: ft.Icons.MENU_BOOK_OUTLINED,
    NotificationCategory.alerts: ft.Icons.WARNING_AMBER_ROUNDED,
    NotificationCategory.security: ft.Icons.SHIELD_OUTLINED,
    NotificationCategory.test: ft.Icons.NOTIFICATIONS_ACTIVE_OUTLINED,
}


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    """ "Just now", "5 min ago", "3 hours ago", "Yesterday", "Monday", "Mar 3" or "Mar 3, 2025"."""
    now = now or datetime.now(UTC)
    seconds = max(0.0, (now - moment).total_seconds())
    if seconds < 60:
        return "Just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    local, today = moment.astimezone(), now.astimezone().date()
    if local.date() == today:
        hours = int(seconds // 3600)
        return "1 hour ago" if hours == 1 else f"{hours} hours ago"
    if local.date() == today - timedelta(days=1):
        return "Yesterday"
    if today - local.date() < timedelta(days=7):
        return f"{local:%A}"
    if local.year == today.year:
        return f"{local:%b} {local.day}"
    return f"{local:%b} {local.day}, {local.year}"


def badge_text(count: int) -> str:
    return str(count) if count < 100 else "99+"


class NotificationBell:
    """The bell button with its unread badge; tapping it opens the notification center."""

    def __init__(
        self,
        *,
        page: ft.Page,
        session: SessionStore,
        store: NotificationsStore,
        follow: Callable[[str], None],
        compact: bool = False,
    ) -> None:
        self._page = page
        self._session = session
        self._store = store
        self._follow = follow
        self._compact = compact
        self._center: NotificationCenter | None = None
        self._icon = ft.Icon(
            ft.Icons.NOTIFICATIONS_OUTLINED,
            color=theme.PRIMARY_DARK,
            semantics_label="Notifications",
        )
        self._count = ft.Text("", size=11, weight=ft.FontWeight.W_700, color="#FFFFFF")
        self._badge = ft.Container(
            content=ft.Semantics(identifier="notifications-badge", content=self._count),
            bgcolor=theme.ERROR,
            border_radius=10,
            border=ft.Border.all(2, theme.SURFACE),
            padding=ft.Padding.symmetric(horizontal=5, vertical=0),
            alignment=ft.Alignment.CENTER,
            height=20,
            right=2,
            top=2,
            visible=False,
        )
        button = ft.IconButton(
            icon=self._icon,
            tooltip="Notifications",
            on_click=self._open,
            width=theme.TOUCH_TARGET,
            height=theme.TOUCH_TARGET,
        )
        self.control = ft.Semantics(
            identifier="notifications-button",
            container=True,
            content=ft.Stack(
                [button, self._badge], width=theme.TOUCH_TARGET, height=theme.TOUCH_TARGET
            ),
        )
        if store.state is LoadState.idle:
            page.run_task(store.load)
        self.refresh()

    def refresh(self) -> None:
        unread = self._store.unread
        self._badge.visible = unread > 0
        self._count.value = badge_text(unread)
        self._icon.icon = ft.Icons.NOTIFICATIONS if unread else ft.Icons.NOTIFICATIONS_OUTLINED
        self._icon.semantics_label = (
            f"Notifications, {unread} unread" if unread else "Notifications"
        )
        if self._center is not None:
            self._center.refresh()

    def _open(self, _: ft.ControlEvent) -> None:
        self._session.record_activity()
        self._center = NotificationCenter(
            store=self._store,
            session=self._session,
            on_follow=self._followed,
            on_close=self._close,
            on_dismissed=self._dismissed,
            compact=self._compact,
        )
        self._page.show_dialog(self._center.dialog)
        self._page.run_task(self._store.load)  # catch up on anything missed while offline

    def _close(self) -> None:
        if self._center is not None:
            self._center = None
            self._page.pop_dialog()

    def _dismissed(self) -> None:
        """Closed by a tap outside it or Escape: Flet has already taken it off the page."""
        self._center = None

    def _followed(self, link: str | None) -> None:
        if link:
            self._close()
            self._follow(link)


class NotificationCenter:
    """The list of notifications in a dialog, with "Mark all as read"."""

    def __init__(
        self,
        *,
        store: NotificationsStore,
        session: SessionStore,
        on_follow: Callable[[str | None], None],
        on_close: Callable[[], None],
        on_dismissed: Callable[[], None],
        compact: bool,
    ) -> None:
        self._store = store
        self._session = session
        self._on_follow = on_follow
        self._on_close = on_close
        self._summary = ft.Text("", size=14, color=theme.TEXT_MUTED)
        self._banner, self._show_banner = widgets.banner("notifications-message")
        self._list = ft.Column(
            spacing=theme.SPACE_S,
            scroll=ft.ScrollMode.AUTO,
            tight=True,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        self._mark_all = ft.TextButton(
            content=ft.Text("Mark all as read", size=15, weight=ft.FontWeight.W_600),
            icon=ft.Icons.DONE_ALL,
            on_click=self._mark_all_read,
            height=theme.TOUCH_TARGET,
        )
        self._mark_all_box = ft.Semantics(identifier="mark-all-read", content=self._mark_all)
        self._summary_row = ft.Row(
            [
                ft.Semantics(
                    identifier="notifications-summary",
                    live_region=True,
                    content=self._summary,
                    expand=True,
                ),
                self._mark_all_box,
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
            height=theme.TOUCH_TARGET,
        )
        # A phone gets the center across the screen; a wider screen gets a panel under the bell.
        inset = (
            ft.Padding.symmetric(horizontal=theme.SPACE_S, vertical=theme.SPACE_M)
            if compact
            else ft.Padding.only(
                left=theme.SPACE_L, right=theme.SPACE_L, top=80, bottom=theme.SPACE_L
            )
        )
        self.dialog = ft.AlertDialog(
            modal=False,
            bgcolor=theme.SURFACE,
            shape=ft.RoundedRectangleBorder(radius=16),
            inset_padding=inset,
            alignment=ft.Alignment.TOP_CENTER if compact else ft.Alignment.TOP_RIGHT,
            title_padding=ft.Padding.only(
                left=theme.SPACE_L, right=theme.SPACE_S, top=theme.SPACE_M
            ),
            content_padding=ft.Padding.only(
                left=theme.SPACE_M, right=theme.SPACE_M, top=theme.SPACE_S, bottom=theme.SPACE_M
            ),
            title=ft.Column(
                [
                    ft.Row(
                        [
                            ft.Container(widgets.heading("Notifications", size=22), expand=True),
                            ft.IconButton(
                                icon=ft.Icon(ft.Icons.CLOSE, semantics_label="Close notifications"),
                                tooltip="Close",
                                on_click=lambda _: self._on_close(),
                                width=theme.TOUCH_TARGET,
                                height=theme.TOUCH_TARGET,
                            ),
                        ],
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    self._summary_row,
                ],
                spacing=0,
                tight=True,
            ),
            content=ft.Container(
                content=ft.Column(
                    [
                        self._banner,
                        ft.Semantics(
                            identifier="notification-list", container=True, content=self._list
                        ),
                    ],
                    spacing=theme.SPACE_S,
                    tight=True,
                ),
                width=CENTER_WIDTH,
            ),
            on_dismiss=lambda _: on_dismissed(),
        )
        self.refresh()

    def refresh(self) -> None:
        store = self._store
        unread = store.unread
        self._summary.value = f"{unread} unread" if unread else "You're all caught up"
        self._summary_row.visible = bool(store.items)  # the empty state says it already
        self._mark_all_box.visible = unread > 0
        self._show_banner(store.error, widgets.BannerKind.error)
        if not store.items:
            if store.state is LoadState.failed:
                self._list.controls = [widgets.muted("Your notifications could not be loaded.")]
            elif store.state is LoadState.loaded:
                self._list.controls = [
                    widgets.empty_state(
                        icon=ft.Icons.NOTIFICATIONS_NONE_OUTLINED,
                        title="You're all caught up",
                        message="New messages, reminders and alerts will appear here as they "
                        "arrive.",
                        identifier="notifications-empty",
                    )
                ]
            else:
                self._list.controls = [widgets.muted("Loading notifications…")]
            return
        now = datetime.now(UTC)
        self._list.controls = [self._tile(n, now) for n in store.items]

    def _tile(self, notification: NotificationPublic, now: datetime) -> ft.Control:
        unread = notification.read_at is None
        when = relative_time(notification.created_at, now)
        title_row: list[ft.Control] = [
            ft.Text(
                notification.title,
                size=16,
                weight=ft.FontWeight.W_700 if unread else ft.FontWeight.W_500,
                color=theme.TEXT,
                expand=True,
                max_lines=2,
                overflow=ft.TextOverflow.ELLIPSIS,
            )
        ]
        if notification.urgent:
            title_row.append(_urgent_chip())
        spoken = [notification.title, notification.body, when]
        if notification.urgent:
            spoken.insert(0, "Urgent")
        if unread:
            spoken.insert(0, "Unread")
        icon = CATEGORY_ICONS.get(notification.category, ft.Icons.NOTIFICATIONS_OUTLINED)
        accent = theme.ERROR if notification.urgent else theme.PRIMARY_DARK
        return ft.Semantics(
            identifier=f"notification-{notification.id}",
            button=True,
            container=True,
            label=". ".join(part.rstrip(". ") for part in spoken),
            content=ft.Container(
                content=ft.Row(
                    [
                        ft.Container(
                            content=ft.Icon(icon, size=20, color=accent),
                            bgcolor=theme.ERROR_SOFT if notification.urgent else theme.PRIMARY_SOFT,
                            width=40,
                            height=40,
                            border_radius=20,
                            alignment=ft.Alignment.CENTER,
                        ),
                        ft.Semantics(
                            exclude_semantics=True,  # the tile's label says it all, once
                            expand=True,
                            content=ft.Column(
                                [
                                    ft.Row(
                                        title_row,
                                        spacing=theme.SPACE_S,
                                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                                    ),
                                    ft.Text(notification.body, size=14, color=theme.TEXT),
                                    ft.Text(when, size=13, color=theme.TEXT_MUTED),
                                ],
                                spacing=2,
                            ),
                        ),
                        ft.Container(
                            width=10,
                            height=10,
                            border_radius=5,
                            bgcolor=theme.PRIMARY if unread else None,
                            margin=ft.Margin.only(top=6),
                        ),
                    ],
                    spacing=theme.SPACE_M,
                    vertical_alignment=ft.CrossAxisAlignment.START,
                ),
                on_click=_handler(self._open, notification.id),
                bgcolor="#F1F8F8" if unread else theme.SURFACE,
                border=ft.Border.all(1, theme.PRIMARY_SOFT if unread else theme.BORDER),
                border_radius=theme.RADIUS,
                padding=ft.Padding.symmetric(horizontal=theme.SPACE_M, vertical=12),
            ),
        )

    async def _open(self, notification_id: uuid.UUID) -> None:
        self._session.record_activity()
        link = await self._store.open(notification_id)
        self._on_follow(link)

    async def _mark_all_read(self, _: ft.ControlEvent) -> None:
        self._session.record_activity()
        await self._store.mark_all_read()


def _urgent_chip() -> ft.Control:
    return ft.Container(
        content=ft.Row(
            [
                ft.Icon(ft.Icons.PRIORITY_HIGH, size=14, color=theme.ERROR),
                ft.Text("Urgent", size=12, weight=ft.FontWeight.W_600, color=theme.ERROR),
            ],
            spacing=2,
            tight=True,
        ),
        bgcolor=theme.ERROR_SOFT,
        border_radius=6,
        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
    )


def _handler(
    action: Callable[[uuid.UUID], Awaitable[None]], notification_id: uuid.UUID
) -> Callable[[ft.ControlEvent], Awaitable[None]]:
    """An async click handler bound to one notification (Flet awaits only real coroutine
    functions, so a lambda returning a coroutine would never run)."""

    async def handle(_: ft.ControlEvent) -> None:
        await action(notification_id)

    return handle

"""The signed-in home: the role's destinations, with navigation that fits the width.

Phones get a bottom NavigationBar (reachable with a thumb); tablets and desktops get a
NavigationRail, leaving the width to content. The shell is rebuilt when the width crosses the
breakpoint, so it never has to move live controls between the two layouts.
"""

from collections.abc import Callable
from dataclasses import dataclass

import flet as ft

from mobile_app import theme
from mobile_app.views import widgets
from mobile_app.views.assessments import build_assessments
from mobile_app.views.audit_log import AuditLogTab
from mobile_app.views.base import Tab, TabContext
from mobile_app.views.care_plan import build_care_plan
from mobile_app.views.labels import ROLE_LABELS, initials
from mobile_app.views.learn import build_learn
from mobile_app.views.messages import build_messages
from mobile_app.views.my_patients import MyPatientsTab
from mobile_app.views.notifications import NotificationBell
from mobile_app.views.profile import ProfileTab
from mobile_app.views.today import TodayTab
from shared.enums import STAFF_ROLES, Role


@dataclass(frozen=True, slots=True)
class Destination:
    route: str
    label: str
    icon: ft.IconData
    selected_icon: ft.IconData
    build: Callable[[TabContext], Tab]


TODAY = Destination("/today", "Today", ft.Icons.WB_SUNNY_OUTLINED, ft.Icons.WB_SUNNY, TodayTab)
MESSAGES = Destination(
    "/messages",
    "Messages",
    ft.Icons.CHAT_BUBBLE_OUTLINE,
    ft.Icons.CHAT_BUBBLE,
    build_messages,
)
CARE_PLAN = Destination(
    "/care-plan", "Care plan", ft.Icons.ASSIGNMENT_OUTLINED, ft.Icons.ASSIGNMENT, build_care_plan
)
LEARN = Destination("/learn", "Learn", ft.Icons.MENU_BOOK_OUTLINED, ft.Icons.MENU_BOOK, build_learn)
PROFILE = Destination("/profile", "Profile", ft.Icons.PERSON_OUTLINE, ft.Icons.PERSON, ProfileTab)
MY_PATIENTS = Destination(
    "/my-patients", "My patients", ft.Icons.PEOPLE_OUTLINE, ft.Icons.PEOPLE, MyPatientsTab
)
ASSESSMENTS = Destination(
    "/assessments",
    "Assessments",
    ft.Icons.FACT_CHECK_OUTLINED,
    ft.Icons.FACT_CHECK,
    build_assessments,
)
AUDIT_LOG = Destination(
    "/audit-log", "Audit log", ft.Icons.POLICY_OUTLINED, ft.Icons.POLICY, AuditLogTab
)

PATIENT_DESTINATIONS = (TODAY, MESSAGES, CARE_PLAN, LEARN, PROFILE)
STAFF_DESTINATIONS = (MY_PATIENTS, MESSAGES, ASSESSMENTS, PROFILE)
ADMIN_DESTINATIONS = (AUDIT_LOG, PROFILE)


def destinations_for(role: Role) -> tuple[Destination, ...]:
    if role in (Role.patient, Role.family):
        return PATIENT_DESTINATIONS
    if role in STAFF_ROLES:
        return STAFF_DESTINATIONS
    return ADMIN_DESTINATIONS


RAIL_WIDTH = 104


def is_compact(width: float | None) -> bool:
    return width is not None and width < theme.COMPACT_BREAKPOINT


class ShellScreen:
    """The home shell for one role, one destination and one layout (compact or wide)."""

    def __init__(
        self,
        ctx: TabContext,
        *,
        route: str,
        page_width: float | None,
        navigate: Callable[[str], None],
    ) -> None:
        session = ctx.session
        assert session.role is not None, "the shell is only built for a signed-in person"
        self._session = session
        self._messages = ctx.messages
        self._navigate = navigate
        # Everyone has a notification center (administrators get security notices).
        self._bell = (
            NotificationBell(
                page=ctx.page,
                session=session,
                store=ctx.notifications,
                follow=navigate,
                compact=is_compact(page_width),
            )
            if ctx.notifications is not None
            else None
        )
        compact = is_compact(page_width)
        self._destinations = destinations_for(session.role)
        index = next((i for i, d in enumerate(self._destinations) if d.route == route), 0)
        self._current = self._destinations[index]
        self._tab = self._current.build(ctx)
        self._fills = bool(getattr(self._tab, "fills_screen", False))
        self._reserved = 0 if compact else RAIL_WIDTH + 1 + 2 * theme.SPACE_M
        self._column = ft.Column(
            [c for c in (self._patient_strip(), self._tab.control) if c is not None],
            spacing=theme.SPACE_M,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            expand=self._fills,
        )
        self._nav_destinations: list[ft.NavigationBarDestination | ft.NavigationRailDestination]
        self._nav_destinations = []
        self.set_width(page_width)
        content = _filling(self._column, compact) if self._fills else _scrolling(self._column)

        self.appbar: ft.AppBar | None = None
        self.navigation_bar: ft.NavigationBar | None = None
        if compact:
            self.appbar, self.navigation_bar = self._phone_bars(index)
            self.control: ft.Control = ft.Semantics(
                identifier="shell", container=True, expand=True, content=content
            )
        else:
            self.control = ft.Semantics(
                identifier="shell", container=True, expand=True, content=self._wide(index, content)
            )

    def refresh(self) -> None:
        self._tab.refresh()
        self._update_badges()
        if self._bell is not None:
            self._bell.refresh()

    def set_width(self, page_width: float | None) -> None:
        if self._fills:
            return  # list and thread share the whole width
        self._column.width = theme.fit_width(
            theme.CONTENT_MAX_WIDTH, page_width, reserved=self._reserved
        )

    def _update_badges(self) -> None:
        """The unread total on the Messages destination (nothing when all is read)."""
        unread = self._messages.unread_total
        for destination, control in zip(self._destinations, self._nav_destinations, strict=True):
            if destination.route == MESSAGES.route:
                badge = (str(unread) if unread < 100 else "99+") if unread else None
                control.icon = ft.Icon(destination.icon, badge=badge)
                control.selected_icon = ft.Icon(destination.selected_icon, badge=badge)

    # -- pieces -----------------------------------------------------------------------------

    def _phone_bars(self, index: int) -> tuple[ft.AppBar, ft.NavigationBar]:
        appbar = ft.AppBar(
            title=widgets.heading(self._current.label, size=22, identifier="screen-title"),
            bgcolor=theme.SURFACE,
            center_title=False,
            actions=[self._bell.control, ft.Container(width=theme.SPACE_S)] if self._bell else None,
        )
        self._nav_destinations = [
            ft.NavigationBarDestination(icon=d.icon, selected_icon=d.selected_icon, label=d.label)
            for d in self._destinations
        ]
        self._update_badges()
        bar = ft.NavigationBar(
            selected_index=index,
            destinations=self._nav_destinations,
            on_change=self._on_nav_change,
        )
        return appbar, bar

    def _wide(self, index: int, content: ft.Control) -> ft.Control:
        rail = ft.NavigationRail(
            selected_index=index,
            label_type=ft.NavigationRailLabelType.ALL,
            min_width=RAIL_WIDTH,
            group_alignment=-0.9,
            leading=ft.Container(
                content=ft.Column(
                    [
                        widgets.brand_mark(44),
                        ft.Text(
                            "CareCircle",
                            size=13,
                            weight=ft.FontWeight.W_600,
                            color=theme.PRIMARY_DARK,
                        ),
                    ],
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                    spacing=6,
                ),
                padding=ft.Padding.only(top=theme.SPACE_L, bottom=theme.SPACE_M),
            ),
            destinations=self._rail_destinations(),
            on_change=self._on_nav_change,
        )
        return ft.Row(
            [
                rail,
                ft.VerticalDivider(width=1, thickness=1, color=theme.BORDER),
                ft.Column(
                    [
                        self._wide_header(),
                        ft.Divider(height=1, color=theme.BORDER),
                        content,
                    ],
                    spacing=0,
                    expand=True,
                ),
            ],
            spacing=0,
            expand=True,
            vertical_alignment=ft.CrossAxisAlignment.STRETCH,
        )

    def _rail_destinations(self) -> list[ft.NavigationRailDestination]:
        destinations = [
            ft.NavigationRailDestination(icon=d.icon, selected_icon=d.selected_icon, label=d.label)
            for d in self._destinations
        ]
        self._nav_destinations = list(destinations)
        self._update_badges()
        return destinations

    def _wide_header(self) -> ft.Control:
        me = self._session.me
        who = (
            ft.Semantics(
                identifier="signed-in-as",
                container=True,
                content=ft.Column(
                    [
                        ft.Text(
                            me.full_name, size=14, weight=ft.FontWeight.W_600, color=theme.TEXT
                        ),
                        ft.Text(
                            f"{ROLE_LABELS[me.role]} · {me.organization.name}",
                            size=13,
                            color=theme.TEXT_MUTED,
                        ),
                    ],
                    spacing=0,
                    horizontal_alignment=ft.CrossAxisAlignment.END,
                ),
            )
            if me
            else ft.Container()
        )
        return ft.Container(
            content=ft.Row(
                [
                    ft.Container(
                        widgets.heading(self._current.label, size=26, identifier="screen-title"),
                        expand=True,
                    ),
                    *([self._bell.control] if self._bell else []),
                    who,
                    *self._avatar(),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=theme.SPACE_M,
            ),
            bgcolor=theme.SURFACE,
            padding=ft.Padding.symmetric(horizontal=theme.SPACE_XL, vertical=theme.SPACE_L),
        )

    def _avatar(self) -> list[ft.Control]:
        me = self._session.me
        if me is None:
            return []
        return [
            ft.Semantics(
                exclude_semantics=True,
                content=ft.CircleAvatar(
                    content=ft.Text(initials(me.full_name), size=15, weight=ft.FontWeight.W_600),
                    bgcolor=theme.PRIMARY,
                    color="#FFFFFF",
                    radius=20,
                ),
            )
        ]

    def _patient_strip(self) -> ft.Control | None:
        """For a family member: whose care is shown, and a way to switch when there are more."""
        viewed = self._session.viewed_patient
        if self._session.role is not Role.family or viewed is None:
            return None
        switch: list[ft.Control] = []
        if len(self._session.proxies) > 1:
            switch.append(
                ft.TextButton(
                    content=ft.Text("Switch person", size=15, weight=ft.FontWeight.W_600),
                    icon=ft.Icons.SWAP_HORIZ,
                    on_click=self._switch_patient,
                    height=theme.TOUCH_TARGET,
                )
            )
        return ft.Semantics(
            identifier="viewing-patient",
            container=True,
            content=ft.Container(
                content=ft.Row(
                    [
                        ft.Icon(ft.Icons.FAMILY_RESTROOM, color=theme.PRIMARY_DARK, size=22),
                        ft.Text(
                            f"Viewing care for {viewed.name}",
                            size=15,
                            weight=ft.FontWeight.W_600,
                            color=theme.PRIMARY_DARK,
                            expand=True,
                        ),
                        *switch,
                    ],
                    spacing=theme.SPACE_S,
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                bgcolor=theme.PRIMARY_SOFT,
                border_radius=theme.RADIUS,
                padding=ft.Padding.only(left=theme.SPACE_M, right=theme.SPACE_S, top=4, bottom=4),
            ),
        )

    # -- events -----------------------------------------------------------------------------

    def _on_nav_change(self, e: ft.ControlEvent) -> None:
        self._session.record_activity()
        index = int(e.control.selected_index or 0)
        self._navigate(self._destinations[index].route)

    def _switch_patient(self, _: ft.ControlEvent) -> None:
        self._session.choose_another_patient()


def _filling(column: ft.Column, compact: bool) -> ft.Control:
    """Content that takes the whole area and scrolls its own parts (list, thread)."""
    pad = theme.SPACE_S if compact else theme.SPACE_M
    return ft.Container(content=column, padding=pad, expand=True)


def _scrolling(column: ft.Column) -> ft.Control:
    """Scrollable content, centered and no wider than reads comfortably."""
    return ft.Column(
        [
            ft.Container(
                content=column,
                padding=ft.Padding.symmetric(horizontal=theme.SPACE_M, vertical=theme.SPACE_L),
                alignment=ft.Alignment.TOP_CENTER,
            )
        ],
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
    )

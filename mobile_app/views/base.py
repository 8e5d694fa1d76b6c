"""What the app expects of a screen and of a tab inside the home shell."""

from dataclasses import dataclass
from typing import Protocol

import flet as ft

from mobile_app.stores.assessments import AssessmentsStore
from mobile_app.stores.audit_log import AuditLogStore
from mobile_app.stores.care_team import CareTeamStore
from mobile_app.stores.careplan import CarePlanStore
from mobile_app.stores.messages import MessagesStore
from mobile_app.stores.notifications import NotificationsStore
from mobile_app.stores.patients import PatientListStore
from mobile_app.stores.session import SessionStore


class Screen(Protocol):
    """A whole page: sign-in, lock, patient picker or the home shell."""

    control: ft.Control
    appbar: ft.AppBar | None
    navigation_bar: ft.NavigationBar | None

    def refresh(self) -> None:
        """Copy the stores' current state into the controls (no rebuild, typed text survives)."""

    def set_width(self, page_width: float | None) -> None:
        """Fit the page's new width in place (a rebuild would lose what is being typed)."""


class Tab(Protocol):
    """One destination of the home shell (Today, My patients, Profile...).

    A tab that sets `fills_screen = True` (Messages) gets the whole content area, unscrolled,
    and manages its own scrolling; the others scroll inside a column of reading width.
    """

    control: ft.Control

    def refresh(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TabContext:
    """What a tab may use: the page (for dialogs and tasks) and the stores."""

    page: ft.Page
    session: SessionStore
    patients: PatientListStore
    care_team: CareTeamStore
    audit_log: AuditLogStore
    messages: MessagesStore
    compact: bool = False
    """A phone width: one pane at a time instead of list and detail side by side."""
    assessments: AssessmentsStore | None = None
    notifications: NotificationsStore | None = None
    careplan: CarePlanStore | None = None


class StaticTab:
    """A tab whose content depends only on who is signed in, fixed when the tab is built."""

    def __init__(self, control: ft.Control) -> None:
        self.control = control

    def refresh(self) -> None:
        """Nothing changes while shown."""

"""The Flet entry point: one `CareCircleApp` per browser session, routing, theme and timers.

Every page session gets its own API client and stores, so two people using CareCircle from the
same server never share tokens or patient data. The app decides which screen to show from the
session store (signed out, locked, choosing a patient, or the role's home) and keeps the URL in
step with it.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence

import flet as ft

from mobile_app import theme
from mobile_app.api.client import ApiClient, ApiError
from mobile_app.api.realtime import RealtimeClient
from mobile_app.config import ClientSettings, load_settings
from mobile_app.stores.assessments import AssessmentsStore
from mobile_app.stores.audit_log import AuditLogStore
from mobile_app.stores.care_team import CareTeamStore
from mobile_app.stores.careplan import CarePlanStore
from mobile_app.stores.messages import MessagesStore
from mobile_app.stores.notifications import NotificationsStore
from mobile_app.stores.patients import PatientListStore
from mobile_app.stores.session import SessionStatus, SessionStore
from mobile_app.views.base import Screen, TabContext
from mobile_app.views.lock import LockScreen
from mobile_app.views.login import LoginScreen
from mobile_app.views.patient_picker import PatientPickerScreen
from mobile_app.views.shell import MESSAGES, ShellScreen, destinations_for, is_compact
from shared.enums import STAFF_ROLES, GrantScope, Role

log = logging.getLogger("carecircle.client")

LOGIN_ROUTE = "/login"
PICKER_ROUTE = "/choose-patient"
TICK_SECONDS = 5.0
"""How often the idle lock and the token refresh are checked."""
ACTIVITY_HOVER_INTERVAL_MS = 2000
"""Mouse movement counts as activity, reported at most this often."""

ScreenKey = tuple[str, str, str | None, bool | None]


class CareCircleApp:
    """One person's CareCircle in one browser tab: its API client, stores, screens and timers."""

    def __init__(self, page: ft.Page, settings: ClientSettings) -> None:
        self.page = page
        self.api = ApiClient(settings.api_url)
        self.session = SessionStore(self.api, idle_lock_seconds=settings.idle_lock_seconds)
        self.patients = PatientListStore(self.api)
        self.care_team = CareTeamStore(self.api)
        self.audit_log = AuditLogStore(self.api)
        self.messages = MessagesStore(self.api)
        self.assessments = AssessmentsStore(self.api)
        self.careplan = CarePlanStore(self.api)
        self.notifications = NotificationsStore(self.api)
        self.realtime = RealtimeClient(self.api, self.messages)
        self.realtime.add_listener(self.notifications.on_frame)
        self.messages.realtime = self.realtime
        self._realtime_task: asyncio.Future[None] | None = None
        self._route = page.route or "/"
        self._width: float | None = page.width
        self._screen: Screen | None = None
        self._screen_key: ScreenKey | None = None
        self._status = self.session.status
        self._ticker: asyncio.Future[None] | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self) -> None:
        page = self.page
        page.title = "CareCircle"
        page.theme = theme.build_theme()
        page.theme_mode = ft.ThemeMode.LIGHT
        page.bgcolor = theme.BACKGROUND
        page.on_route_change = self._on_route_change
        page.on_resize = self._on_resize
        page.on_keyboard_event = self._on_keyboard
        page.on_connect = self._on_connect
        page.on_disconnect = self._on_disconnect
        page.on_close = self._on_close
        self._unsubscribe = [
            self.session.subscribe(self._on_session_change),
            self.patients.subscribe(self._render),
            self.care_team.subscribe(self._render),
            self.audit_log.subscribe(self._render),
            self.messages.subscribe(self._render),
            self.assessments.subscribe(self._render),
            self.careplan.subscribe(self._render),
            self.notifications.subscribe(self._render),
        ]
        self._start_ticker()
        self._render()

    # -- rendering --------------------------------------------------------------------------

    def _target(self) -> tuple[str, str]:
        """Which screen the current state calls for, and the URL that goes with it."""
        session = self.session
        if session.status is SessionStatus.signed_out:
            return "login", LOGIN_ROUTE
        if session.status is SessionStatus.locked:
            return "lock", self._route
        if session.needs_patient_choice:
            return "picker", PICKER_ROUTE
        assert session.role is not None
        destinations = destinations_for(session.role)
        routes = [d.route for d in destinations]
        route = self._route if self._route in routes else routes[0]
        return "shell", route

    def _render(self) -> None:
        kind, route = self._target()
        viewed = self.session.viewed_patient
        # Only the shell changes its structure with the width (bar or rail); every other
        # width change is applied in place so typed text survives.
        compact = is_compact(self._width) if kind == "shell" else None
        key: ScreenKey = (kind, route, str(viewed.patient_id) if viewed else None, compact)
        if key != self._screen_key or self._screen is None:
            self._screen = self._build(kind, route)
            self._screen_key = key
            self.page.views.clear()
            self.page.views.append(
                ft.View(
                    route=route,
                    controls=[self._wrap(self._screen.control)],
                    appbar=self._screen.appbar,
                    navigation_bar=self._screen.navigation_bar,
                    padding=0,
                    spacing=0,
                    horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                    bgcolor=theme.BACKGROUND,
                )
            )
        else:
            self._screen.set_width(self._width)
            self._screen.refresh()
        if route != self._route:
            self._route = route
            self.page.navigate(route)
        # Messages count as read only while their thread is actually on screen.
        self.messages.set_visible(
            kind == "shell" and route == MESSAGES.route and self.messages.open_id is not None
        )
        self.page.update()

    def _build(self, kind: str, route: str) -> Screen:
        if kind == "login":
            return LoginScreen(self.session, page_width=self._width)
        if kind == "lock":
            return LockScreen(self.session, page_width=self._width)
        if kind == "picker":
            return PatientPickerScreen(self.session, page_width=self._width)
        ctx = TabContext(
            page=self.page,
            session=self.session,
            patients=self.patients,
            care_team=self.care_team,
            audit_log=self.audit_log,
            messages=self.messages,
            compact=is_compact(self._width),
            assessments=self.assessments,
            notifications=self.notifications,
            careplan=self.careplan,
        )
        return ShellScreen(ctx, route=route, page_width=self._width, navigate=self._go)

    def _wrap(self, control: ft.Control) -> ft.Control:
        """Everything on screen sits in one detector so mouse movement postpones the lock."""
        return ft.GestureDetector(
            content=control,
            hover_interval=ACTIVITY_HOVER_INTERVAL_MS,
            on_hover=lambda _: self.session.record_activity(),
            expand=True,
        )

    def _go(self, route: str) -> None:
        self._route = self._follow_link(route)
        self._render()

    def _follow_link(self, route: str) -> str:
        """The tab a route or deep link belongs to (a notification's `link`, or a typed URL).
        `/messages/<conversation id>` also opens that conversation; a patient's page is in My
        patients; a query (`?alert=...`) is not kept."""
        head, _, rest = route.split("?", 1)[0].strip("/").partition("/")
        if head == "messages" and rest and self.messages.user_id is not None:
            try:
                conversation_id = uuid.UUID(rest)
            except ValueError:
                pass
            else:
                self.page.run_task(self.messages.open, conversation_id)
        if head == "patients":
            return "/my-patients"
        return f"/{head}"

    # -- events -----------------------------------------------------------------------------

    def _on_session_change(self) -> None:
        status = self.session.status
        if status is not self._status:
            self._status = status
            self._close_dialogs()
            if status is SessionStatus.signed_out:
                self.patients.reset()
                self.care_team.reset()
                self.audit_log.reset()
                self.notifications.reset()
                self.assessments.reset()
                self.careplan.reset()
        self._sync_messaging()
        self._render()

    def _on_route_change(self, e: ft.RouteChangeEvent) -> None:
        self.session.record_activity()
        self._route = self._follow_link(e.route or "/")
        self._render()

    def _on_resize(self, e: ft.PageResizeEvent) -> None:
        self._width = e.width
        self._render()

    def _on_keyboard(self, _: ft.KeyboardEvent) -> None:
        self.session.record_activity()

    def _on_connect(self, _: ft.ControlEvent) -> None:
        # Back from a lost connection (a closed lid, a tunnel): lock first if the time is up.
        self.session.lock_if_idle()
        self._start_ticker()
        self._sync_messaging()
        if self.session.status is SessionStatus.active:
            self.page.run_task(self.notifications.load)  # frames sent while away were lost

    def _on_disconnect(self, _: ft.ControlEvent) -> None:
        self._stop_ticker()
        self._stop_realtime()

    async def _on_close(self, _: ft.ControlEvent) -> None:
        """The browser session is gone for good: end the server session (nobody can use its
        tokens any more) and forget every token and patient."""
        self._stop_ticker()
        self._stop_realtime()
        await self.realtime.close()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self.api.has_session:
            with contextlib.suppress(ApiError):
                await self.api.logout()
        self.patients.reset()
        self.care_team.reset()
        self.audit_log.reset()
        self.messages.reset()
        self.notifications.reset()
        self.assessments.reset()
        self.careplan.reset()
        await self.api.aclose()

    def _close_dialogs(self) -> None:
        """A dialog (e.g. change password) must not stay over the lock or sign-in screen."""
        for _ in range(5):
            if self.page.pop_dialog() is None:
                break

    # -- messaging --------------------------------------------------------------------------

    def _sync_messaging(self) -> None:
        """Keep the messages store and the websocket in step with who is signed in and whose
        care is shown: nothing is kept or received for a person without access to messages."""
        session = self.session
        me = session.me
        patient_id = None
        allowed = me is not None and session.status is not SessionStatus.signed_out
        if me is not None and me.role in (Role.patient, Role.family):
            viewed = session.viewed_patient
            allowed = (
                allowed
                and viewed is not None
                and (viewed.scopes is None or GrantScope.messages in viewed.scopes)
            )
            patient_id = viewed.patient_id if viewed is not None else None
        elif me is not None and me.role not in STAFF_ROLES:
            allowed = False
        if not allowed or me is None:
            self._stop_realtime()
            if self.messages.user_id is not None:
                self.messages.reset()
            return
        self.messages.start_session(me.id, patient_id)
        if self._realtime_task is None or self._realtime_task.done():
            self._realtime_task = self.page.run_task(self.realtime.run)

    def _stop_realtime(self) -> None:
        if self._realtime_task is not None:
            self._realtime_task.cancel()
            self._realtime_task = None

    # -- timers -----------------------------------------------------------------------------

    def _start_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = self.page.run_task(self._tick_forever)

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.session.tick()
            except Exception:
                log.exception("session tick failed")


def run(argv: Sequence[str] | None = None) -> None:
    """Serve the app to browsers on `settings.host:port` (web mode, no CDN)."""
    settings = load_settings(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every URL at INFO; our client logs what matters without patient ids.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    def main(page: ft.Page) -> None:
        CareCircleApp(page, settings).start()

    log.info(
        "CareCircle client on http://%s:%s (API %s)", settings.host, settings.port, settings.api_url
    )
    with contextlib.suppress(KeyboardInterrupt):
        ft.run(
            main,
            name="",
            host=settings.host,
            port=settings.port,
            view=ft.AppView.WEB_BROWSER,
            no_cdn=True,
            assets_dir=None,
        )

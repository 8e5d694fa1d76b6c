"""The administrator's home: the organization's audit trail, read-only, newest first.

Denied and failed entries and emergency access stand out; everything else stays quiet, because
an administrator scans this list for the few entries that need a second look.
"""

from datetime import datetime

import flet as ft

from mobile_app import theme
from mobile_app.stores.audit_log import AuditLogStore, action_label
from mobile_app.stores.patients import LoadState
from mobile_app.views import widgets
from mobile_app.views.base import TabContext
from mobile_app.views.labels import ROLE_LABELS
from shared.enums import AccessBasis, AuditOutcome, Role
from shared.schemas.audit import AuditEntryPublic

OUTCOME_CHIPS: tuple[tuple[str, AuditOutcome | None], ...] = (
    ("All", None),
    ("Denied", AuditOutcome.denied),
    ("Failed", AuditOutcome.failure),
)

OUTCOME_STYLE: dict[AuditOutcome, tuple[str, str, str, ft.IconData]] = {
    # label, text color, background, icon
    AuditOutcome.success: ("Success", theme.TEXT_MUTED, theme.BACKGROUND, ft.Icons.CHECK),
    AuditOutcome.denied: ("Denied", theme.ERROR, theme.ERROR_SOFT, ft.Icons.BLOCK),
    AuditOutcome.failure: ("Failed", theme.WARNING, theme.WARNING_SOFT, ft.Icons.ERROR_OUTLINE),
}

BASIS_LABELS: dict[str, str] = {
    AccessBasis.self: "Own record",
    AccessBasis.care_team: "Via care team",
    AccessBasis.proxy: "As family proxy",
}


def format_time(moment: datetime) -> str:
    """ "Mar 14, 2026, 9:05 AM UTC" in the device's time zone."""
    local = moment.astimezone()
    hour = local.strftime("%I").lstrip("0")
    zone = local.strftime("%Z")
    return f"{local:%b} {local.day}, {local.year}, {hour}:{local:%M} {local:%p} {zone}".rstrip()


def role_label(role: str | None) -> str | None:
    if role is None:
        return None
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


class AuditLogTab:
    def __init__(self, ctx: TabContext) -> None:
        self._ctx = ctx
        self._store: AuditLogStore = ctx.audit_log
        me = ctx.session.me
        org = me.organization.name if me else "your organization"

        self._chips = [
            (
                outcome,
                ft.Chip(
                    label=ft.Text(label, size=15),
                    show_checkmark=False,
                    selected_color=theme.PRIMARY_SOFT,
                    bgcolor=theme.SURFACE,
                    border_side=ft.BorderSide(1, theme.BORDER),
                    shape=ft.RoundedRectangleBorder(radius=20),
                    on_select=self._outcome_handler(outcome),
                ),
            )
            for label, outcome in OUTCOME_CHIPS
        ]
        self._search = ft.TextField(
            value=self._store.action_query,
            hint_text="Search an action, e.g. Sign-in",
            prefix_icon=ft.Icons.SEARCH,
            on_submit=self._on_search,
            autocorrect=False,
            border_radius=10,
            text_size=15,
            dense=True,
            bgcolor=theme.SURFACE,
            border_color=theme.BORDER,
            focused_border_color=theme.PRIMARY,
            expand=True,
        )
        self._clear = ft.IconButton(
            icon=ft.Icons.CLOSE,
            tooltip="Clear search",
            on_click=self._on_clear,
            icon_color=theme.TEXT_MUTED,
        )
        self._refresh_button = ft.IconButton(
            icon=ft.Icons.REFRESH,
            tooltip="Refresh audit log",
            on_click=self._reload,
            icon_color=theme.PRIMARY,
        )
        self._verify_button = widgets.secondary_button(
            "Verify integrity", icon=ft.Icons.VERIFIED_USER_OUTLINED, on_click=self._verify
        )
        self._verify_icon = ft.Icon(ft.Icons.VERIFIED_USER, size=24)
        self._verify_title = ft.Text("", size=16, weight=ft.FontWeight.W_600)
        self._verify_detail = ft.Text("", size=14)
        self._verify_box = ft.Container(
            visible=False,
            padding=theme.SPACE_M,
            border_radius=theme.RADIUS,
            content=ft.Semantics(
                identifier="audit-verify-result",
                live_region=True,
                container=True,
                content=ft.Row(
                    [
                        self._verify_icon,
                        ft.Column(
                            [self._verify_title, self._verify_detail], spacing=2, expand=True
                        ),
                    ],
                    spacing=theme.SPACE_M,
                    vertical_alignment=ft.CrossAxisAlignment.START,
                ),
            ),
        )
        self._banner, self._show_banner = widgets.banner("audit-log-message")
        self._progress = ft.ProgressBar(color=theme.PRIMARY, bgcolor=theme.PRIMARY_SOFT)
        self._summary = widgets.muted("", size=14)
        self._list = ft.Column(
            spacing=theme.SPACE_S, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
        )
        self._more_button = widgets.secondary_button(
            "Load more", icon=ft.Icons.EXPAND_MORE, on_click=self._load_more
        )
        self._more = ft.Row([self._more_button], alignment=ft.MainAxisAlignment.CENTER)

        self.control = ft.Column(
            [
                widgets.muted(
                    f"Every sign-in, record opened and change of access at {org}, newest first. "
                    "The trail is tamper-evident and read-only."
                ),
                ft.Row(
                    [
                        ft.Row(
                            [chip for _, chip in self._chips], spacing=theme.SPACE_S, tight=True
                        ),
                        ft.Row(
                            [self._refresh_button, self._verify_button],
                            spacing=theme.SPACE_XS,
                            tight=True,
                        ),
                    ],
                    alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    wrap=True,
                    run_spacing=theme.SPACE_S,
                ),
                ft.Semantics(
                    identifier="audit-search",
                    content=ft.Row(
                        [self._search, self._clear],
                        spacing=theme.SPACE_XS,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                ),
                self._verify_box,
                self._progress,
                self._banner,
                self._summary,
                ft.Semantics(identifier="audit-log-list", container=True, content=self._list),
                self._more,
            ],
            spacing=theme.SPACE_M,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        if self._store.state is LoadState.idle:
            ctx.page.run_task(self._store.load)
        self.refresh()

    # -- rendering ---------------------------------------------------------------------------

    def refresh(self) -> None:
        store = self._store
        loading = store.state is LoadState.loading
        busy = loading or store.loading_more
        for outcome, chip in self._chips:
            chip.selected = store.outcome == outcome
            chip.disabled = loading
        self._clear.visible = bool(store.action_query)
        self._refresh_button.disabled = busy
        self._progress.visible = busy
        self._render_verify()

        failed_empty = store.state is LoadState.failed and not store.entries
        self._show_banner(None if failed_empty else store.error, widgets.BannerKind.error)
        self._summary.value = self._summary_text()
        self._summary.visible = bool(self._summary.value)
        if failed_empty:
            self._list.controls = [self._error_state(store.error)]
        elif store.state is LoadState.loaded and not store.entries:
            self._list.controls = [self._empty_state()]
        else:
            self._list.controls = [_entry_row(store, entry) for entry in store.entries]
        self._more.visible = store.next_cursor is not None and store.state is LoadState.loaded
        self._more_button.disabled = store.loading_more
        self._more_button.content = ft.Text(
            "Loading…" if store.loading_more else "Load more", size=16
        )

    def _summary_text(self) -> str:
        store = self._store
        if store.state is LoadState.loading and not store.entries:
            return "Loading the audit trail…"
        if not store.entries:
            return ""
        count = len(store.entries)
        shown = f"{count} entr{'y' if count == 1 else 'ies'}"
        which = []
        if store.outcome is AuditOutcome.denied:
            which.append("denied")
        elif store.outcome is AuditOutcome.failure:
            which.append("failed")
        if store.action:
            which.append(f"“{action_label(store.action)}”")
        scope = f" ({', '.join(which)})" if which else ""
        more = " · older entries available" if store.next_cursor else ""
        return f"{shown}{scope}, newest first{more}"

    def _render_verify(self) -> None:
        store = self._store
        self._verify_button.disabled = store.verifying
        self._verify_button.content = ft.Text(
            "Checking…" if store.verifying else "Verify integrity", size=16
        )
        result = store.verify_result
        if result is None and store.verify_error is None:
            self._verify_box.visible = False
            return
        self._verify_box.visible = True
        if result is not None and result.ok:
            color, soft, icon = theme.SUCCESS, theme.SUCCESS_SOFT, ft.Icons.VERIFIED_USER
            title = f"Chain intact: {result.checked:,} entries checked"
            detail = "No entry has been altered, removed or reordered."
        elif result is not None:
            color, soft, icon = theme.ERROR, theme.ERROR_SOFT, ft.Icons.GPP_BAD_OUTLINED
            where = f"entry #{result.first_broken_id}" if result.first_broken_id else "an entry"
            title = f"Chain broken at {where}"
            detail = (
                f"{result.problem or 'The entry does not match the chain.'} "
                f"{result.checked:,} entries were checked. Entries from this point on may have "
                "been altered: keep this screen and tell your security officer."
            )
        else:
            color, soft, icon = theme.ERROR, theme.ERROR_SOFT, ft.Icons.ERROR_OUTLINE
            title = "The check could not be run"
            detail = f"{store.verify_error} Try Verify integrity again in a moment."
        self._verify_box.bgcolor = soft
        self._verify_box.border = ft.Border.all(1, color)
        self._verify_icon.icon = icon
        self._verify_icon.color = color
        self._verify_title.value = title
        self._verify_title.color = color
        self._verify_detail.value = detail
        self._verify_detail.color = theme.TEXT

    def _empty_state(self) -> ft.Control:
        if self._store.filtered:
            return widgets.empty_state(
                icon=ft.Icons.SEARCH_OFF,
                title="No entries match these filters",
                message="Choose All, or search an action by name, e.g. “Sign-in” or "
                "“Record access denied”. Clear the search to see every entry.",
                identifier="audit-log-empty",
            )
        return widgets.empty_state(
            icon=ft.Icons.POLICY_OUTLINED,
            title="No audit entries yet",
            message="Entries appear here as soon as someone signs in or opens a record.",
            identifier="audit-log-empty",
        )

    def _error_state(self, error: str | None) -> ft.Control:
        return ft.Column(
            [
                widgets.empty_state(
                    icon=ft.Icons.CLOUD_OFF_OUTLINED,
                    title="The audit log could not be loaded",
                    message=f"{error or 'Something went wrong.'} Then choose Try again.",
                    identifier="audit-log-error",
                ),
                ft.Row(
                    [widgets.primary_button("Try again", on_click=self._reload)],
                    alignment=ft.MainAxisAlignment.CENTER,
                ),
            ],
            spacing=theme.SPACE_M,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )

    # -- events ------------------------------------------------------------------------------

    def _outcome_handler(self, outcome: AuditOutcome | None) -> widgets.Handler:
        async def choose(_: ft.ControlEvent) -> None:
            self._ctx.session.record_activity()
            await self._store.set_outcome(outcome)

        return choose

    async def _on_search(self, _: ft.ControlEvent) -> None:
        self._ctx.session.record_activity()
        await self._store.set_action_query(self._search.value or "")

    async def _on_clear(self, _: ft.ControlEvent) -> None:
        self._ctx.session.record_activity()
        self._search.value = ""
        await self._store.set_action_query("")

    async def _reload(self, _: ft.ControlEvent) -> None:
        self._ctx.session.record_activity()
        await self._store.load()

    async def _load_more(self, _: ft.ControlEvent) -> None:
        self._ctx.session.record_activity()
        await self._store.load_more()

    async def _verify(self, _: ft.ControlEvent) -> None:
        self._ctx.session.record_activity()
        await self._store.verify()


def _badge(text: str, color: str, bgcolor: str, icon: ft.IconData | None = None) -> ft.Control:
    parts: list[ft.Control] = []
    if icon is not None:
        parts.append(ft.Icon(icon, size=14, color=color))
    parts.append(ft.Text(text, size=12, weight=ft.FontWeight.W_600, color=color))
    return ft.Container(
        content=ft.Row(parts, spacing=4, tight=True),
        bgcolor=bgcolor,
        border_radius=6,
        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
    )


def _entry_row(store: AuditLogStore, entry: AuditEntryPublic) -> ft.Control:
    label, color, soft, icon = OUTCOME_STYLE[entry.outcome]
    who = store.actor_name(entry)
    role = role_label(entry.actor_role)
    details: list[ft.Control] = [
        ft.Text(format_time(entry.occurred_at), size=13, color=theme.TEXT_MUTED)
    ]
    if entry.patient_id is not None:
        details.append(
            ft.Text(f"Patient {str(entry.patient_id)[:8]}", size=13, color=theme.TEXT_MUTED)
        )
    if entry.access_basis == AccessBasis.emergency:
        details.append(
            _badge("Emergency access", theme.ERROR, theme.ERROR_SOFT, ft.Icons.EMERGENCY_OUTLINED)
        )
    elif entry.access_basis in BASIS_LABELS:
        details.append(
            _badge(BASIS_LABELS[entry.access_basis], theme.PRIMARY_DARK, theme.PRIMARY_SOFT)
        )
    return ft.Semantics(
        identifier=f"audit-entry-{entry.id}",
        container=True,
        content=widgets.card(
            ft.Row(
                [
                    ft.Container(
                        content=ft.Icon(icon, size=20, color=color),
                        bgcolor=soft,
                        border_radius=20,
                        width=40,
                        height=40,
                        alignment=ft.Alignment.CENTER,
                    ),
                    ft.Column(
                        [
                            ft.Row(
                                [
                                    ft.Text(
                                        action_label(entry.action),
                                        size=16,
                                        weight=ft.FontWeight.W_600,
                                        color=theme.TEXT,
                                        expand=True,
                                    ),
                                    _badge(label, color, soft),
                                ],
                                vertical_alignment=ft.CrossAxisAlignment.START,
                                spacing=theme.SPACE_S,
                            ),
                            ft.Text(
                                f"{who} · {role}" if role else who,
                                size=14,
                                color=theme.TEXT,
                            ),
                            ft.Row(
                                details,
                                spacing=theme.SPACE_M,
                                run_spacing=4,
                                wrap=True,
                                vertical_alignment=ft.CrossAxisAlignment.CENTER,
                            ),
                        ],
                        spacing=4,
                        expand=True,
                    ),
                ],
                spacing=theme.SPACE_M,
                vertical_alignment=ft.CrossAxisAlignment.START,
            ),
            padding=theme.SPACE_M,
        ),
    )

"""Today's plan items for a patient or family member: big checkable rows in time order, what is
overdue marked in red, and "Skip" asking for a reason."""

import flet as ft

from mobile_app import theme
from mobile_app.stores.careplan import CarePlanStore
from mobile_app.stores.patients import LoadState
from mobile_app.views import widgets
from mobile_app.views.base import TabContext
from shared.schemas.careplans import TodayItem

ICONS = {
    "medication": ft.Icons.MEDICATION_OUTLINED,
    "appointment": ft.Icons.EVENT_OUTLINED,
    "check_in": ft.Icons.MONITOR_HEART_OUTLINED,
    "lifestyle": ft.Icons.DIRECTIONS_WALK,
    "education": ft.Icons.MENU_BOOK_OUTLINED,
    "assessment": ft.Icons.FACT_CHECK_OUTLINED,
}


class PlanTodayPanel:
    def __init__(self, ctx: TabContext, store: CarePlanStore) -> None:
        self._ctx, self._store = ctx, store
        self._summary = widgets.muted("", size=15)
        self._rows = ft.Column(spacing=theme.SPACE_S)
        self.control = ft.Semantics(
            identifier="today-plan",
            container=True,
            content=widgets.card(
                ft.Column(
                    [
                        ft.Text("Your plan for today", size=18, weight=ft.FontWeight.W_600,
                                color=theme.TEXT),
                        self._summary,
                        self._rows,
                    ],
                    spacing=theme.SPACE_S,
                )
            ),
        )  # fmt: skip
        viewed = ctx.session.viewed_patient
        if viewed is not None and (
            store.patient_id != viewed.patient_id or store.today_state is LoadState.idle
        ):
            ctx.page.run_task(store.load_today, viewed.patient_id)

    @property
    def has_items(self) -> bool:
        return bool(self._store.today and self._store.today.items)

    def refresh(self) -> None:
        today = self._store.today
        self.control.visible = self.has_items
        if today is None:
            return
        overdue = self._store.overdue
        text = f"{today.done} of {today.total} done"
        if overdue:
            text += f" · {overdue} overdue"
        self._summary.value = text
        self._rows.controls = [self._row(item) for item in today.items]

    def _row(self, item: TodayItem) -> ft.Control:
        done = item.status == "done"
        skipped = item.status == "skipped"
        when = item.local_time or "Today"
        status_text = (
            "Done" if done else f"Skipped: {item.reason}" if skipped else
            "Overdue" if item.overdue else when
        )  # fmt: skip
        color = theme.ERROR if item.overdue else theme.TEXT_MUTED

        async def toggle(_):
            await self._store.mark(item.key, "done")

        actions: list[ft.Control] = []
        if not done and not skipped:
            actions = [
                ft.Semantics(
                    identifier=f"done-{item.key}",
                    button=True,
                    label=f"Mark {item.title} at {when} done",
                    content=ft.FilledButton(
                        content=ft.Text("Done", size=16, weight=ft.FontWeight.W_600),
                        icon=ft.Icons.CHECK,
                        height=theme.TOUCH_TARGET,
                        on_click=toggle,
                    ),
                ),
                ft.TextButton(
                    content=ft.Text("Skip", size=15),
                    on_click=lambda _, i=item: self._ask_reason(i),
                ),
            ]
        return ft.Container(
            padding=theme.SPACE_M,
            border_radius=12,
            bgcolor=theme.SUCCESS_SOFT if done else theme.ERROR_SOFT if item.overdue else None,
            border=ft.Border.all(1, theme.BORDER),
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.CHECK_CIRCLE if done else ICONS.get(item.kind),
                            color=theme.PRIMARY, size=30),
                    ft.Column(
                        [
                            ft.Text(item.title, size=18, weight=ft.FontWeight.W_600,
                                    color=theme.TEXT),
                            *([ft.Text(item.detail, size=14, color=theme.TEXT_MUTED)]
                              if item.detail else []),
                            ft.Text(status_text, size=14, color=color,
                                    weight=ft.FontWeight.W_600 if item.overdue else None),
                        ],
                        spacing=2,
                        expand=True,
                    ),
                    *actions,
                ],
                spacing=theme.SPACE_M,
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
        )  # fmt: skip

    def _ask_reason(self, item: TodayItem) -> None:
        field = ft.TextField(label="Why was it skipped?", autofocus=True)

        async def confirm(_):
            if not (field.value or "").strip():
                field.error = "Please give a reason."
                field.update()
                return
            self._ctx.page.pop_dialog()
            await self._store.mark(item.key, "skipped", field.value)

        dialog = ft.AlertDialog(
            title=ft.Text(f"Skip {item.title}"),
            content=field,
            actions=[
                ft.TextButton("Cancel", on_click=lambda _: self._ctx.page.pop_dialog()),
                ft.FilledButton("Skip", on_click=confirm),
            ],
        )
        self._ctx.page.show_dialog(dialog)

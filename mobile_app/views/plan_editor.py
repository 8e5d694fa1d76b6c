"""The staff care-plan editor for one patient, opened from My patients.

Three parts: the plan itself (start from a template, then goals and activities, with the
plain-language text the patient reads beside the clinical detail only staff see, saved as a
new version on top of the one edited), adherence over 7 or 30 days, and the version history
with what changed in each version. The draft lives in the store; this module only draws it.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import flet as ft

from mobile_app import theme
from mobile_app.stores.careplan import CarePlanStore
from mobile_app.stores.patients import LoadState
from mobile_app.views import widgets
from mobile_app.views.assessments import _chip, _choice_chip, _section
from mobile_app.views.base import TabContext
from mobile_app.views.plan_today import ICONS
from shared.schemas.careplans import AdherenceLine, Change

GOAL_STATUSES = (
    ("In progress", "in_progress"),
    ("Improving", "improving"),
    ("Achieved", "achieved"),
    ("Not achieved", "not_achieved"),
    ("Cancelled", "cancelled"),
)
KIND_LABELS = {
    "medication": "Medication",
    "appointment": "Appointment",
    "check_in": "Check-in",
    "lifestyle": "Lifestyle task",
    "education": "Reading",
    "assessment": "Questionnaire",
}
CATEGORIES = (("Diet", "diet"), ("Exercise", "exercise"), ("Sleep", "sleep"), ("Other", "other"))
SECTIONS = (("Edit plan", "plan"), ("Adherence", "adherence"), ("History", "history"))
ACTION_COLORS = {
    "added": (theme.SUCCESS, theme.SUCCESS_SOFT),
    "removed": (theme.ERROR, theme.ERROR_SOFT),
    "changed": (theme.WARNING, theme.WARNING_SOFT),
}


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%b %d, %Y at %H:%M").replace(" 0", " ")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v)[:5] for v in value)
    return str(value)


def _rate(line: AdherenceLine) -> str:
    return "—" if line.rate is None else f"{round(line.rate * 100)}%"


def _rate_color(line: AdherenceLine) -> str:
    if line.rate is None:
        return theme.TEXT_MUTED
    return theme.SUCCESS if line.rate >= 0.8 else theme.WARNING if line.rate >= 0.5 else theme.ERROR


class PlanEditor:
    def __init__(self, ctx: TabContext, store: CarePlanStore) -> None:
        self._ctx, self._store = ctx, store
        self._banner, self._show = widgets.banner("plan-editor-banner")
        self._title = ft.Text("", size=22, weight=ft.FontWeight.W_600, color=theme.TEXT)
        self._version = widgets.muted("", size=14)
        self._chips = ft.Row(spacing=theme.SPACE_S, wrap=True)
        self._body = ft.Column(
            spacing=theme.SPACE_M, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
        )
        self._form: list[ft.Control] = []
        self._built: tuple[int, int | None] | None = None
        self._note = self._input("What changed and why (optional)", "", "plan-note", None)
        header = widgets.card(
            ft.Column(
                [
                    ft.Row(
                        [
                            ft.Semantics(
                                identifier="plan-back",
                                button=True,
                                label="Back to My patients",
                                content=ft.IconButton(
                                    icon=ft.Icons.ARROW_BACK,
                                    tooltip="Back to My patients",
                                    on_click=lambda _: store.close_editor(),
                                    icon_color=theme.PRIMARY,
                                ),
                            ),
                            ft.Column(
                                [
                                    ft.Semantics(identifier="plan-patient", content=self._title),
                                    self._version,
                                ],
                                spacing=0,
                                expand=True,
                            ),
                        ],
                        spacing=theme.SPACE_S,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    self._chips,
                ],
                spacing=theme.SPACE_M,
            ),
            padding=theme.SPACE_M,
        )
        self.control = ft.Semantics(
            identifier="plan-editor",
            container=True,
            content=ft.Column(
                [header, self._banner, self._body],
                spacing=theme.SPACE_M,
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            ),
        )

    # -- refresh ----------------------------------------------------------------------------

    def refresh(self) -> None:
        store = self._store
        self._show(
            store.error or store.message,
            widgets.BannerKind.error if store.error else widgets.BannerKind.notice,
        )
        self._title.value = f"Care plan · {store.editor_name or ''}"
        plan = store.plan
        if plan is not None:
            who = f" by {plan.updated_by_name}" if plan.updated_by_name else ""
            self._version.value = f"Version {plan.version}, saved{who} on {_when(plan.updated_at)}"
        elif store.plan_state is LoadState.loading:
            self._version.value = "Loading the plan…"
        else:
            self._version.value = "No plan yet"
        self._chips.controls = [
            _choice_chip(
                label,
                key == store.section,
                lambda _, k=key: store.show_section(k),
                f"plan-tab-{key}",
            )
            for label, key in SECTIONS
        ]
        if store.section == "adherence":
            self._built = None
            self._body.controls = self._adherence()
        elif store.section == "history":
            self._built = None
            self._body.controls = self._history()
        else:
            stamp = (store.draft_rev, id(store.draft) if store.draft is not None else None)
            if stamp != self._built:  # rebuilt only when the draft's shape changed
                self._built = stamp
                self._form = self._plan_form()
            self._body.controls = [*self._form, *self._save_bar()]

    # -- inputs -----------------------------------------------------------------------------

    def _input(
        self,
        label: str,
        value: Any,
        identifier: str,
        on_change: Callable[[str], None] | None,
        *,
        multiline: bool = False,
        hint: str | None = None,
        col: dict[str, int] | None = None,
    ) -> ft.Control:
        field = ft.TextField(
            label=label,
            value=_text(value),
            hint_text=hint,
            multiline=multiline,
            min_lines=2 if multiline else None,
            border_radius=10,
            text_size=16,
            bgcolor=theme.SURFACE,
            border_color=theme.BORDER,
            focused_border_color=theme.PRIMARY,
            on_change=(lambda e: on_change(e.control.value or "")) if on_change else None,
        )
        return ft.Semantics(identifier=identifier, content=field, col=col or {"xs": 12})

    def _bind(self, section: str, index: int | None, name: str) -> Callable[[str], None]:
        return lambda value: self._store.set_field(section, index, name, value)

    def _entry(
        self, icon: ft.IconData, title: str, identifier: str, on_remove: Any, body: list
    ) -> ft.Control:
        return ft.Semantics(
            identifier=identifier,
            container=True,
            content=ft.Container(
                content=ft.Column(
                    [
                        ft.Row(
                            [
                                ft.Icon(icon, color=theme.PRIMARY, size=24),
                                ft.Text(
                                    title,
                                    size=16,
                                    weight=ft.FontWeight.W_600,
                                    color=theme.TEXT,
                                    expand=True,
                                ),
                                ft.IconButton(
                                    icon=ft.Icons.DELETE_OUTLINE,
                                    tooltip=f"Remove {title}",
                                    icon_color=theme.ERROR,
                                    on_click=on_remove,
                                ),
                            ],
                            vertical_alignment=ft.CrossAxisAlignment.CENTER,
                        ),
                        ft.ResponsiveRow(body, spacing=theme.SPACE_S, run_spacing=theme.SPACE_S),
                    ],
                    spacing=theme.SPACE_S,
                ),
                border=ft.Border.all(1, theme.BORDER),
                border_radius=10,
                padding=theme.SPACE_M,
                bgcolor=theme.BACKGROUND,
            ),
        )

    # -- the plan ---------------------------------------------------------------------------

    def _plan_form(self) -> list[ft.Control]:
        store = self._store
        draft = store.draft
        if draft is None:
            if store.plan_state is LoadState.loading:
                return [widgets.muted("Loading the plan…")]
            return [self._templates(first=True)]
        half = {"xs": 12, "md": 6}
        plan_card = _section(
            "Plan",
            [
                ft.ResponsiveRow(
                    [
                        self._input(
                            "Plan title",
                            draft["title"],
                            "plan-title",
                            self._bind("", None, "title"),
                        ),
                        self._input(
                            "Summary for the patient (plain language)",
                            draft.get("summary"),
                            "plan-summary",
                            self._bind("", None, "summary"),
                            multiline=True,
                        ),
                    ],
                    run_spacing=theme.SPACE_S,
                ),
                *(
                    [
                        ft.Row(
                            [
                                _chip(c["display"], theme.PRIMARY_DARK)
                                for c in draft.get("conditions", [])
                            ],
                            wrap=True,
                            spacing=theme.SPACE_S,
                        )
                    ]
                    if draft.get("conditions")
                    else []
                ),
            ],
            "plan-card",
        )
        goals = [self._goal(i, g, half) for i, g in enumerate(draft["goals"])]
        goals_card = _section(
            "Goals",
            [
                widgets.muted(
                    "What the patient is working towards, how it is measured, and by when.",
                    size=14,
                ),
                *(goals or [widgets.muted("No goals yet.")]),
                ft.Row(
                    [
                        ft.Semantics(
                            identifier="plan-add-goal",
                            content=widgets.secondary_button(
                                "Add goal", icon=ft.Icons.ADD, on_click=lambda _: store.add_goal()
                            ),
                        )
                    ]
                ),
            ],
            "plan-goals",
        )
        activities = [self._activity(i, a, half) for i, a in enumerate(draft["activities"])]
        add = ft.Row(
            [
                ft.Semantics(
                    identifier=f"plan-add-{kind}",
                    content=widgets.secondary_button(
                        label,
                        icon=ft.Icons.ADD,
                        on_click=lambda _, k=kind: store.add_activity(k),
                    ),
                )
                for kind, label in KIND_LABELS.items()
            ],
            wrap=True,
            spacing=theme.SPACE_S,
            run_spacing=theme.SPACE_S,
        )
        activities_card = _section(
            "Activities",
            [
                widgets.muted(
                    "Medicines, appointments, check-ins, lifestyle tasks, reading and "
                    "questionnaires. Patients see the plain-language text; clinical detail "
                    "is for staff only.",
                    size=14,
                ),
                *(activities or [widgets.muted("No activities yet.")]),
                widgets.muted("Add an activity", size=14),
                add,
            ],
            "plan-activities",
        )
        return [plan_card, goals_card, activities_card, self._templates(first=False)]

    def _goal(self, index: int, goal: dict[str, Any], half: dict[str, int]) -> ft.Control:
        bind = lambda name: self._bind("goals", index, name)  # noqa: E731
        status = ft.Row(
            [
                _choice_chip(
                    label,
                    goal.get("status") == value,
                    lambda _, v=value: self._store.choose("goals", index, "status", v),
                    f"goal-{index}-status-{value}",
                )
                for label, value in GOAL_STATUSES
            ],
            wrap=True,
            spacing=theme.SPACE_S,
            run_spacing=theme.SPACE_S,
            col={"xs": 12},
        )
        return self._entry(
            ft.Icons.FLAG_OUTLINED,
            goal.get("title") or f"Goal {index + 1}",
            f"goal-{index}",
            lambda _: self._store.remove("goals", index),
            [
                self._input(
                    "Goal, in the patient's words", goal.get("title"), f"goal-{index}-title",
                    bind("title"),
                ),
                self._input(
                    "What is measured", goal.get("measure"), f"goal-{index}-measure",
                    bind("measure"), hint="e.g. HbA1c", col=half,
                ),
                self._input(
                    "Target", goal.get("target"), f"goal-{index}-target", bind("target"),
                    hint="e.g. below 7%", col=half,
                ),
                self._input(
                    "Due date", goal.get("due_date"), f"goal-{index}-due", bind("due_date"),
                    hint="YYYY-MM-DD", col=half,
                ),
                self._input(
                    "Latest value", goal.get("progress"), f"goal-{index}-progress",
                    bind("progress"), col=half,
                ),
                status,
                self._input(
                    "Clinical detail (staff only)", goal.get("clinical_detail"),
                    f"goal-{index}-clinical", bind("clinical_detail"), multiline=True,
                ),
            ],
        )  # fmt: skip

    def _activity(self, index: int, act: dict[str, Any], half: dict[str, int]) -> ft.Control:
        kind = act["kind"]
        bind = lambda name: self._bind("activities", index, name)  # noqa: E731
        ident = f"activity-{index}"

        def field(label: str, name: str, *, col=half, hint=None, multiline=False) -> ft.Control:
            return self._input(
                label, act.get(name), f"{ident}-{name}", bind(name),
                col=col, hint=hint, multiline=multiline,
            )  # fmt: skip

        def plain_and_clinical(plain_label: str, plain_name: str) -> list[ft.Control]:
            return [
                field(plain_label, plain_name, multiline=True),
                field("Clinical detail (staff only)", "clinical_detail", multiline=True),
            ]

        period = [
            field("Start date", "start_date", hint="YYYY-MM-DD"),
            field("End date (optional)", "end_date", hint="YYYY-MM-DD"),
        ]
        body: list[ft.Control]
        if kind == "medication":
            title = f"{act.get('drug') or 'New medication'}"
            body = [
                field("Drug", "drug"),
                field("Dose", "dose", hint="e.g. 500 mg, 1 tablet"),
                field("Times of day", "times", hint="e.g. 08:00, 20:00"),
                field("Route (optional)", "route", hint="e.g. by mouth"),
                *period,
                *plain_and_clinical("Instructions for the patient", "instructions"),
            ]
        elif kind == "appointment":
            title = act.get("title") or "New appointment"
            body = [
                field("Appointment", "title", col={"xs": 12}),
                field("When", "starts_at", hint="YYYY-MM-DD HH:MM"),
                field("Length (minutes)", "duration_minutes"),
                field("Where", "location"),
                field("With whom", "with_whom"),
                *plain_and_clinical("How to prepare (for the patient)", "preparation"),
            ]
        elif kind in ("check_in", "lifestyle"):
            title = act.get("title") or f"New {KIND_LABELS[kind].lower()}"
            body = [
                field("Task, in plain language", "title", col={"xs": 12}),
                field("Times of day (optional)", "times", hint="e.g. 07:30"),
                *(
                    [
                        ft.Row(
                            [
                                _choice_chip(
                                    label,
                                    act.get("category") == value,
                                    lambda _, v=value: self._store.choose(
                                        "activities", index, "category", v
                                    ),
                                    f"{ident}-category-{value}",
                                )
                                for label, value in CATEGORIES
                            ],
                            wrap=True,
                            spacing=theme.SPACE_S,
                            col=half,
                        )
                    ]
                    if kind == "lifestyle"
                    else [ft.Container(col=half)]
                ),
                *period,
                *plain_and_clinical("Instructions for the patient", "instructions"),
            ]
        elif kind == "education":
            title = act.get("title") or act.get("article_slug") or "New reading"
            body = [
                field("Article (slug)", "article_slug", col={"xs": 12},
                      hint="e.g. living-with-type-2-diabetes"),
                field("Show from", "start_date", hint="YYYY-MM-DD"),
                field("Read by (optional)", "due_date", hint="YYYY-MM-DD"),
            ]  # fmt: skip
        else:
            title = act.get("title") or "New questionnaire"
            body = [
                field("Title for the patient", "title", col={"xs": 12}),
                field("Questionnaire", "questionnaire_key", hint="e.g. phq-9"),
                field("Every (days)", "every_days"),
                *period,
            ]
        return self._entry(
            ICONS.get(kind, ft.Icons.TASK_ALT),
            f"{KIND_LABELS[kind]} · {title}",
            ident,
            lambda _: self._store.remove("activities", index),
            body,
        )

    def _templates(self, *, first: bool) -> ft.Control:
        store = self._store

        def tile(t: Any) -> ft.Control:
            return ft.Semantics(
                identifier=f"template-{t.key}",
                button=True,
                label=f"Apply the {t.title} template",
                content=ft.Container(
                    content=ft.Row(
                        [
                            ft.Icon(ft.Icons.CONTENT_COPY_OUTLINED, color=theme.PRIMARY),
                            ft.Column(
                                [
                                    ft.Text(
                                        t.title, size=16, weight=ft.FontWeight.W_600,
                                        color=theme.TEXT,
                                    ),
                                    widgets.muted(
                                        f"{t.condition} · {t.goals} goals · "
                                        f"{t.activities} activities",
                                        size=13,
                                    ),
                                ],
                                spacing=2,
                                expand=True,
                            ),
                            ft.Icon(ft.Icons.CHEVRON_RIGHT, color=theme.TEXT_MUTED),
                        ]
                    ),
                    padding=ft.Padding.symmetric(horizontal=12, vertical=12),
                    border=ft.Border.all(1, theme.BORDER),
                    border_radius=10,
                    on_click=lambda _, k=t.key: self._ctx.page.run_task(store.apply_template, k),
                    ink=True,
                    col={"xs": 12, "md": 6},
                ),
            )  # fmt: skip

        intro = (
            "Start from a template for the patient's condition, then adjust it."
            if first
            else "Replacing the plan with a template keeps the current plan in the history."
        )
        extra: list[ft.Control] = []
        if first:
            extra = [
                ft.Row(
                    [
                        ft.Semantics(
                            identifier="plan-start-blank",
                            content=widgets.secondary_button(
                                "Start a blank plan", on_click=lambda _: store.start_blank()
                            ),
                        )
                    ]
                )
            ]
        return _section(
            "Start from a template" if first else "Start over from a template",
            [
                widgets.muted(intro, size=14),
                ft.ResponsiveRow(
                    [tile(t) for t in store.templates],
                    spacing=theme.SPACE_S,
                    run_spacing=theme.SPACE_S,
                ),
                *extra,
            ],
            "plan-templates",
        )

    def _save_bar(self) -> list[ft.Control]:
        store = self._store
        if store.draft is None:
            return []

        async def save(_: Any) -> None:
            field = self._note.content
            if await store.save_draft(field.value or ""):
                field.value = ""

        buttons: list[ft.Control] = [
            ft.Semantics(
                identifier="plan-save",
                content=widgets.primary_button(
                    "Save as new version" if store.plan else "Save plan",
                    icon=ft.Icons.SAVE_OUTLINED,
                    on_click=save,
                ),
            )
        ]
        if store.conflict:
            buttons.append(
                ft.Semantics(
                    identifier="plan-reload",
                    content=widgets.secondary_button(
                        "Reload the newer version",
                        icon=ft.Icons.REFRESH,
                        on_click=lambda _: self._ctx.page.run_task(store.reload_plan),
                    ),
                )
            )
        return [
            _section(
                "Save",
                [
                    widgets.muted(
                        "Saving makes a new version. If someone else saved in the meantime, "
                        "nothing is overwritten.",
                        size=14,
                    ),
                    self._note,
                    ft.Row(buttons, wrap=True, spacing=theme.SPACE_S),
                ],
                "plan-save-card",
            )
        ]

    # -- adherence --------------------------------------------------------------------------

    def _adherence(self) -> list[ft.Control]:
        store = self._store
        days = store.adherence_days
        chips = ft.Row(
            [
                _choice_chip(
                    f"Last {d} days", d == days, lambda _, d=d: store.set_adherence_days(d),
                    f"adherence-{d}",
                )
                for d in (7, 30)
            ],
            spacing=theme.SPACE_S,
        )  # fmt: skip
        report = store.adherence.get(days)
        if report is None:
            return [_section("Adherence", [chips, widgets.muted("No adherence yet.")], "adh")]
        overall = report.overall
        summary = ft.Row(
            [
                ft.Text(_rate(overall), size=40, weight=ft.FontWeight.W_700,
                        color=_rate_color(overall)),
                ft.Column(
                    [
                        ft.Text("of planned items done", size=16, color=theme.TEXT),
                        widgets.muted(
                            f"{overall.done} done · {overall.skipped} skipped · "
                            f"{overall.missed} missed of {overall.expected}",
                            size=14,
                        ),
                    ],
                    spacing=2,
                ),
            ],
            spacing=theme.SPACE_M,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )  # fmt: skip
        return [
            ft.Semantics(
                identifier="adherence-overall",
                container=True,
                content=_section("Adherence", [chips, summary], "adherence-card"),
            ),
            _section(
                "Medications",
                [_adherence_row(line) for line in report.medications]
                or [widgets.muted("No medications were due.")],
                "adherence-medications",
            ),
            _section(
                "Other activities",
                [_adherence_row(line) for line in report.other]
                or [widgets.muted("Nothing else was due.")],
                "adherence-other",
            ),
        ]

    # -- history ----------------------------------------------------------------------------

    def _history(self) -> list[ft.Control]:
        store = self._store
        if not store.versions:
            return [_section("Version history", [widgets.muted("No versions yet.")], "plan-hist")]
        rows = []
        for v in store.versions:
            selected = v.version == store.diff_version
            rows.append(
                ft.Semantics(
                    identifier=f"version-{v.version}",
                    button=True,
                    selected=selected,
                    label=f"Version {v.version}",
                    content=ft.Container(
                        content=ft.Row(
                            [
                                ft.Container(
                                    content=ft.Text(
                                        f"v{v.version}", size=15, weight=ft.FontWeight.W_600,
                                        color=theme.PRIMARY_DARK,
                                    ),
                                    bgcolor=theme.PRIMARY_SOFT, border_radius=20, width=52,
                                    height=36, alignment=ft.Alignment.CENTER,
                                ),
                                ft.Column(
                                    [
                                        ft.Text(
                                            v.note or f"{len(v.changes)} changes", size=16,
                                            weight=ft.FontWeight.W_600, color=theme.TEXT,
                                        ),
                                        widgets.muted(
                                            f"{v.changed_by_name or 'Unknown'} · "
                                            f"{_when(v.changed_at)} · {len(v.changes)} changes",
                                            size=13,
                                        ),
                                    ],
                                    spacing=2,
                                    expand=True,
                                ),
                                ft.Icon(ft.Icons.CHEVRON_RIGHT, color=theme.TEXT_MUTED),
                            ],
                            spacing=theme.SPACE_M,
                        ),
                        padding=ft.Padding.symmetric(horizontal=12, vertical=10),
                        border=ft.Border.all(1, theme.PRIMARY if selected else theme.BORDER),
                        border_radius=10,
                        on_click=lambda _, n=v.version: self._ctx.page.run_task(
                            store.show_diff, n
                        ),
                        ink=True,
                    ),
                )
            )  # fmt: skip
        sections = [
            _section(
                "Version history",
                [
                    widgets.muted("Newest first. Choose a version to see what changed.", size=14),
                    *rows,
                ],
                "plan-history",
            )
        ]
        if store.diff_version is not None:
            title = (
                "Version 1: the first plan"
                if store.diff_version <= 1
                else f"What changed from version {store.diff_version - 1} to {store.diff_version}"
            )
            body = [_change_row(c) for c in store.diff] or [
                widgets.muted("The plan was created in this version.", size=14)
            ]
            sections.append(_section(title, body, "plan-diff"))
        return sections


def _adherence_row(line: AdherenceLine) -> ft.Control:
    return ft.Semantics(
        identifier=f"adherence-{line.activity_id or 'line'}",
        container=True,
        content=ft.Column(
            [
                ft.Row(
                    [
                        ft.Text(line.label, size=16, weight=ft.FontWeight.W_600,
                                color=theme.TEXT, expand=True),
                        ft.Text(_rate(line), size=16, weight=ft.FontWeight.W_700,
                                color=_rate_color(line)),
                    ]
                ),
                ft.ProgressBar(value=line.rate or 0, color=_rate_color(line),
                               bgcolor=theme.BORDER, bar_height=8, border_radius=4),
                widgets.muted(
                    f"{line.done} done · {line.skipped} skipped · {line.missed} missed "
                    f"of {line.expected}",
                    size=14,
                ),
            ],
            spacing=6,
        ),
    )  # fmt: skip


def _change_row(change: Change) -> ft.Control:
    color, soft = ACTION_COLORS.get(change.action.value, (theme.PRIMARY, theme.PRIMARY_SOFT))
    fields = f" ({', '.join(f.replace('_', ' ') for f in change.fields)})" if change.fields else ""
    return ft.Row(
        [
            _chip(change.action.value.capitalize(), color, soft=soft),
            ft.Text(
                f"{change.section.capitalize()}: {change.label}{fields}",
                size=15,
                color=theme.TEXT,
                expand=True,
            ),
        ],
        spacing=theme.SPACE_S,
    )

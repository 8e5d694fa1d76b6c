"""Assessments on screen.

Staff (the Assessments tab): urgent alerts to acknowledge, overdue questionnaires, and for a
chosen patient: sending a questionnaire (instrument, due date, recurrence) and the results with
a chart of each instrument's score over time.

Patients and family (on Today): the questionnaires waiting, and the form itself, one question
per screen with progress, large touch targets, and save-and-finish-later.
"""

from datetime import UTC, datetime
from typing import Any

import flet as ft

from mobile_app import theme
from mobile_app.stores.assessments import AssessmentsStore, FormState
from mobile_app.stores.patients import LoadState
from mobile_app.views import widgets
from mobile_app.views.base import TabContext
from shared.questionnaire import FormItem
from shared.schemas.assessments import AlertPublic, AssignmentPublic, ResultPublic, Trend

DUE_CHOICES = (("Today", 0), ("In 3 days", 3), ("In 1 week", 7), ("In 2 weeks", 14))
REPEAT_CHOICES = (("Once", None), ("Every 2 weeks", 14), ("Every 4 weeks", 28))
BAND_COLORS = ("#2E7D32", "#7CB342", "#F9A825", "#EF6C00", "#C62828")
CHART_HEIGHT = 140


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%b %d, %Y").replace(" 0", " ")


def _band_color(trend_or_bands: Any, code: str | None) -> str:
    bands = [b.code for b in getattr(trend_or_bands, "bands", trend_or_bands) or []]
    if code not in bands:
        return theme.PRIMARY
    index = bands.index(code)
    scale = BAND_COLORS if len(bands) >= 4 else (BAND_COLORS[0], BAND_COLORS[3])
    return scale[min(index, len(scale) - 1)]


def _chip(text: str, color: str, *, soft: str | None = None) -> ft.Control:
    return ft.Container(
        content=ft.Text(text, size=13, weight=ft.FontWeight.W_600, color=color),
        bgcolor=soft or theme.PRIMARY_SOFT,
        border_radius=20,
        padding=ft.Padding.symmetric(horizontal=10, vertical=4),
    )


def _section(title: str, body: list[ft.Control], identifier: str) -> ft.Control:
    return ft.Semantics(
        identifier=identifier,
        container=True,
        content=widgets.card(
            ft.Column(
                [ft.Text(title, size=18, weight=ft.FontWeight.W_600, color=theme.TEXT), *body],
                spacing=theme.SPACE_S,
            )
        ),
    )


def _choice_chip(label: str, selected: bool, on_click: Any, identifier: str) -> ft.Control:
    return ft.Semantics(
        identifier=identifier,
        button=True,
        selected=selected,
        label=label,
        content=ft.Container(
            content=ft.Text(
                label,
                size=15,
                weight=ft.FontWeight.W_600 if selected else ft.FontWeight.W_400,
                color="#FFFFFF" if selected else theme.TEXT,
            ),
            bgcolor=theme.PRIMARY if selected else theme.SURFACE,
            border=ft.Border.all(1, theme.PRIMARY if selected else theme.BORDER),
            border_radius=24,
            padding=ft.Padding.symmetric(horizontal=16, vertical=12),
            on_click=on_click,
            ink=True,
        ),
    )


# -- staff -----------------------------------------------------------------------------------


class AssessmentsTab:
    def __init__(self, ctx: TabContext) -> None:
        self._ctx = ctx
        assert ctx.assessments is not None
        self._store: AssessmentsStore = ctx.assessments
        self._query = ""
        self._questionnaire_id: Any = None
        self._due_days = 7
        self._repeat: int | None = None
        self._search = ft.TextField(
            label="Find a patient",
            prefix_icon=ft.Icons.SEARCH,
            on_change=self._on_search,
            border_radius=10,
            text_size=16,
            bgcolor=theme.SURFACE,
            border_color=theme.BORDER,
            focused_border_color=theme.PRIMARY,
        )
        self._banner = ft.Text("", size=15, color=theme.SUCCESS)
        self._banner_box = ft.Semantics(identifier="assessment-banner", content=self._banner)
        self._tiles = ft.Column(spacing=theme.SPACE_S)
        self._picker = _section(
            "Patient",
            [
                widgets.muted(
                    "Choose a patient to send a questionnaire or see their results.", size=14
                ),
                self._search,
                self._tiles,
            ],
            "assessment-patient",
        )
        self._body = ft.Column(
            spacing=theme.SPACE_M, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
        )
        self.control = ft.Column(
            [self._banner_box, self._body],
            spacing=theme.SPACE_S,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        # Fresh on every visit: alerts and results change while one is elsewhere.
        ctx.page.run_task(self._store.load_staff)
        if self._store.selected_patient_id is not None:
            ctx.page.run_task(self._store.select_patient, self._store.selected_patient_id)
        if ctx.patients.state is LoadState.idle:
            ctx.page.run_task(ctx.patients.load)
        self.refresh()

    def refresh(self) -> None:
        store = self._store
        self._banner.value = store.error or store.message or ""
        self._banner.color = theme.ERROR if store.error else theme.SUCCESS
        self._banner_box.visible = bool(self._banner.value)
        sections: list[ft.Control] = []
        if store.alerts:
            sections.append(
                _section(
                    "Urgent alerts",
                    [self._alert_row(a) for a in store.alerts],
                    "assessment-alerts",
                )
            )
        if store.overdue:
            sections.append(
                _section(
                    "Overdue questionnaires",
                    [_overdue_row(a) for a in store.overdue[:8]],
                    "assessment-overdue",
                )
            )
        sections.append(self._patient_section())
        if store.selected_patient_id is not None:
            sections.append(self._send_section())
            sections.append(self._results_section())
        self._body.controls = sections

    # -- pieces ------------------------------------------------------------------------------

    def _alert_row(self, alert: AlertPublic) -> ft.Control:
        return ft.Container(
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.WARNING_AMBER_ROUNDED, color=theme.ERROR, size=28),
                    ft.Column(
                        [
                            ft.Text(
                                alert.patient_name,
                                size=16,
                                weight=ft.FontWeight.W_600,
                                color=theme.TEXT,
                            ),
                            ft.Text(alert.reason, size=14, color=theme.TEXT),
                            widgets.muted(
                                f"{alert.questionnaire_title} · {_when(alert.created_at)}", size=13
                            ),
                        ],
                        spacing=2,
                        expand=True,
                    ),
                    ft.Semantics(
                        identifier=f"acknowledge-{alert.id}",
                        content=widgets.primary_button(
                            "Acknowledge",
                            on_click=lambda _, a=alert: self._ctx.page.run_task(
                                self._store.acknowledge, a
                            ),
                        ),
                    ),
                ],
                spacing=theme.SPACE_M,
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            bgcolor=theme.ERROR_SOFT,
            border_radius=10,
            padding=theme.SPACE_M,
        )

    def _patient_section(self) -> ft.Control:
        store = self._store
        selected = next(
            (p for p in self._ctx.patients.patients if p.id == store.selected_patient_id), None
        )
        if selected is not None and not self._query:
            return _section(
                "Patient",
                [
                    ft.Row(
                        [
                            ft.Text(
                                selected.full_name,
                                size=20,
                                weight=ft.FontWeight.W_600,
                                color=theme.TEXT,
                                expand=True,
                            ),
                            widgets.secondary_button("Change", on_click=self._change_patient),
                        ]
                    ),
                    widgets.muted(f"MRN {selected.mrn}", size=14),
                ],
                "assessment-patient",
            )
        self._tiles.controls = self._patient_tiles()
        return self._picker

    def _patient_tiles(self) -> list[ft.Control]:
        query = self._query.casefold()
        matches = [
            p for p in self._ctx.patients.patients if not query or query in p.full_name.casefold()
        ][:6]
        return [
            ft.Semantics(
                identifier=f"pick-patient-{p.id}",
                button=True,
                label=p.full_name,
                content=ft.Container(
                    content=ft.Row(
                        [
                            ft.Icon(ft.Icons.PERSON_OUTLINE, color=theme.PRIMARY),
                            ft.Text(p.full_name, size=16, color=theme.TEXT, expand=True),
                            widgets.muted(p.mrn, size=13),
                        ]
                    ),
                    padding=ft.Padding.symmetric(horizontal=12, vertical=12),
                    border=ft.Border.all(1, theme.BORDER),
                    border_radius=10,
                    on_click=lambda _, pid=p.id: self._pick(pid),
                    ink=True,
                ),
            )
            for p in matches
        ]

    def _send_section(self) -> ft.Control:
        store = self._store
        instruments = ft.Row(
            [
                _choice_chip(
                    q.title.split("(")[-1].rstrip(")") if "(" in q.title else q.title,
                    q.id == self._questionnaire_id,
                    lambda _, qid=q.id: self._set(questionnaire=qid),
                    f"instrument-{q.key}",
                )
                for q in store.questionnaires
            ],
            wrap=True,
            spacing=theme.SPACE_S,
            run_spacing=theme.SPACE_S,
        )
        due = ft.Row(
            [
                _choice_chip(
                    label,
                    days == self._due_days,
                    lambda _, d=days: self._set(due=d),
                    f"due-{days}",
                )
                for label, days in DUE_CHOICES
            ],
            wrap=True,
            spacing=theme.SPACE_S,
        )
        repeat = ft.Row(
            [
                _choice_chip(
                    label,
                    every == self._repeat,
                    lambda _, r=every: self._set(repeat=r or 0),
                    f"repeat-{every or 0}",
                )
                for label, every in REPEAT_CHOICES
            ],
            wrap=True,
            spacing=theme.SPACE_S,
        )
        send = ft.Semantics(
            identifier="assessment-send",
            content=widgets.primary_button(
                "Send questionnaire", icon=ft.Icons.SEND, on_click=self._send
            ),
        )
        return _section(
            "Send a questionnaire",
            [
                widgets.muted("Instrument", size=14),
                instruments,
                widgets.muted("Due", size=14),
                due,
                widgets.muted("Repeat", size=14),
                repeat,
                ft.Container(height=theme.SPACE_XS),
                ft.Row([send]),
            ],
            "assessment-send-card",
        )

    def _results_section(self) -> ft.Control:
        store = self._store
        if store.results_state is LoadState.loading:
            body: list[ft.Control] = [widgets.muted("Loading results…")]
        elif not store.results:
            body = [widgets.muted("No completed questionnaires yet.")]
        else:
            body = [_trend_chart(t) for t in store.trends]
            body += [widgets.muted("All results, newest first", size=14)]
            bands = {t.questionnaire_key: t for t in store.trends}
            body += [_result_row(r, bands.get(r.questionnaire_key)) for r in store.results[:20]]
        return _section("Results", body, "assessment-results")

    # -- events ------------------------------------------------------------------------------

    def _on_search(self, e: ft.ControlEvent) -> None:
        self._query = e.control.value or ""
        self._tiles.controls = self._patient_tiles()
        self._tiles.update()

    def _pick(self, patient_id: Any) -> None:
        self._query = ""
        self._search.value = ""
        self._store.message = None
        self._ctx.page.run_task(self._store.select_patient, patient_id)

    def _change_patient(self, _: ft.ControlEvent) -> None:
        self._store.selected_patient_id = None
        self.refresh()
        self._ctx.page.update()

    def _set(self, *, questionnaire: Any = None, due: int | None = None, repeat: int | None = None):
        if questionnaire is not None:
            self._questionnaire_id = questionnaire
        if due is not None:
            self._due_days = due
        if repeat is not None:
            self._repeat = repeat or None
        self.refresh()
        self._ctx.page.update()

    def _send(self, _: ft.ControlEvent) -> None:
        store = self._store
        if self._questionnaire_id is None or store.selected_patient_id is None:
            store.error = "Choose an instrument first."
            self.refresh()
            self._ctx.page.update()
            return
        patient_id = store.selected_patient_id

        async def send() -> None:
            assigned = await store.assign(
                patient_id,
                self._questionnaire_id,
                due_in_days=self._due_days,
                recurrence_days=self._repeat,
            )
            if assigned is not None:
                await store.load_staff()

        self._ctx.page.run_task(send)


def _overdue_row(assignment: AssignmentPublic) -> ft.Control:
    days = max(1, (datetime.now(UTC) - assignment.due_at).days)
    return ft.Row(
        [
            ft.Icon(ft.Icons.SCHEDULE, color=theme.WARNING),
            ft.Text(assignment.patient_name, size=15, color=theme.TEXT, expand=True),
            ft.Text(assignment.questionnaire_title, size=14, color=theme.TEXT_MUTED),
            _chip(f"{days} d late", theme.WARNING, soft=theme.WARNING_SOFT),
        ],
        spacing=theme.SPACE_S,
    )


def _result_row(result: ResultPublic, trend: Trend | None) -> ft.Control:
    color = _band_color(trend, result.band_code) if trend else theme.PRIMARY
    chips: list[ft.Control] = []
    if result.score is not None:
        chips.append(
            ft.Semantics(
                identifier=f"result-score-{result.response_id}",
                container=True,
                content=_chip(f"Score {result.score}/{result.score_max}", "#FFFFFF", soft=color),
            )
        )
    if result.band_label:
        chips.append(_chip(result.band_label, color, soft=theme.BACKGROUND))
    if result.positive:
        chips.append(_chip("Positive screen", theme.WARNING, soft=theme.WARNING_SOFT))
    if result.critical:
        chips.append(_chip("Critical answer", theme.ERROR, soft=theme.ERROR_SOFT))
    who = f"Answered by {result.answered_by_name}" + (
        " on the patient's behalf" if result.on_behalf else ""
    )
    drivers = ", ".join(f"{d.text[:40]}… ({d.answer})" for d in result.drivers[:2])
    lines: list[ft.Control] = [
        ft.Row(
            [
                ft.Text(
                    result.questionnaire_title,
                    size=15,
                    weight=ft.FontWeight.W_600,
                    color=theme.TEXT,
                    expand=True,
                ),
                widgets.muted(_when(result.submitted_at), size=13),
            ]
        ),
        ft.Row(chips, wrap=True, spacing=6, run_spacing=6),
        widgets.muted(who, size=13),
    ]
    for finding in result.critical_findings:
        lines.append(ft.Text(f"⚠ {finding.label}: {finding.answer}", size=13, color=theme.ERROR))
    if drivers:
        lines.append(widgets.muted(f"Highest answers: {drivers}", size=13))
    return ft.Container(
        content=ft.Column(lines, spacing=4),
        border=ft.Border.only(left=ft.BorderSide(4, color)),
        padding=ft.Padding.only(left=12, top=6, bottom=6),
    )


def _trend_chart(trend: Trend) -> ft.Control:
    """Bars of the score over time, coloured by band, on the instrument's full scale."""
    top = max(trend.score_max, 1)
    bars = []
    for point in trend.points[-10:]:
        height = max(4, CHART_HEIGHT * point.score / top)
        bars.append(
            ft.Column(
                [
                    ft.Text(
                        str(point.score), size=13, weight=ft.FontWeight.W_600, color=theme.TEXT
                    ),
                    ft.Container(
                        width=34,
                        height=height,
                        bgcolor=_band_color(trend, point.band_code),
                        border_radius=ft.BorderRadius.only(top_left=6, top_right=6),
                        tooltip=point.band_label,
                    ),
                    ft.Text(
                        point.submitted_at.astimezone().strftime("%b %d"),
                        size=12,
                        color=theme.TEXT_MUTED,
                    ),
                ],
                spacing=4,
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                alignment=ft.MainAxisAlignment.END,
            )
        )
    latest = trend.points[-1]
    change = ""
    if trend.change is not None:
        word = {"better": "improved", "worse": "worsened", "same": "unchanged"}[trend.direction]
        change = f" · {word} by {abs(trend.change)}" if trend.change else " · unchanged"
    legend = ft.Row(
        [
            ft.Row(
                [
                    ft.Container(
                        width=10, height=10, bgcolor=_band_color(trend, b.code), border_radius=2
                    ),
                    ft.Text(f"{b.label} {b.min}-{b.max}", size=12, color=theme.TEXT_MUTED),
                ],
                spacing=4,
            )
            for b in trend.bands
        ],
        wrap=True,
        spacing=theme.SPACE_M,
        run_spacing=4,
    )
    return ft.Semantics(
        identifier=f"trend-{trend.questionnaire_key}",
        container=True,
        label=f"{trend.questionnaire_title}: latest score {latest.score}, {latest.band_label}",
        content=ft.Container(
            content=ft.Column(
                [
                    ft.Text(
                        f"{trend.questionnaire_title}",
                        size=15,
                        weight=ft.FontWeight.W_600,
                        color=theme.TEXT,
                    ),
                    ft.Semantics(
                        identifier=f"trend-summary-{trend.questionnaire_key}",
                        content=widgets.muted(
                            f"Latest {latest.score} of {trend.score_max} · "
                            f"{latest.band_label}{change}",
                            size=13,
                        ),
                    ),
                    ft.Container(
                        content=ft.Row(
                            bars,
                            spacing=theme.SPACE_M,
                            vertical_alignment=ft.CrossAxisAlignment.END,
                            scroll=ft.ScrollMode.AUTO,
                        ),
                        height=CHART_HEIGHT + 48,
                        border=ft.Border.only(bottom=ft.BorderSide(1, theme.BORDER)),
                        padding=ft.Padding.only(left=8, right=8),
                    ),
                    legend,
                ],
                spacing=theme.SPACE_S,
            ),
            bgcolor=theme.BACKGROUND,
            border_radius=10,
            padding=theme.SPACE_M,
        ),
    )


def build_assessments(ctx: TabContext) -> AssessmentsTab:
    return AssessmentsTab(ctx)


# -- patient and family ----------------------------------------------------------------------


class PatientAssessmentsPanel:
    """On Today: what is waiting, and the form when one is open. `form_open` tells Today to
    give the whole screen to the form."""

    def __init__(self, ctx: TabContext) -> None:
        self._ctx = ctx
        assert ctx.assessments is not None
        self._store: AssessmentsStore = ctx.assessments
        self._rendered: tuple[Any, ...] | None = None
        self._saved = widgets.muted("", size=13)
        self.control = ft.Column(
            spacing=theme.SPACE_S, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
        )
        viewed = ctx.session.viewed_patient
        if viewed is not None and (
            self._store.patient_id != viewed.patient_id or self._store.due_state is LoadState.idle
        ):
            ctx.page.run_task(self._store.load_due, viewed.patient_id)
        self.refresh()

    @property
    def form_open(self) -> bool:
        return self._store.form is not None

    def refresh(self) -> None:
        store = self._store
        form = store.form
        if form is not None:
            key = (
                id(form),
                form.index,
                form.current.link_id if form.current else None,
                form.error,
                store.busy,
                len(form.pages()),
                tuple(str(v) for v in form.answers.get(form.current.link_id, []))
                if form.current
                else (),
            )
            self._saved.value = (
                f"Draft saved {form.saved_at.astimezone():%H:%M}" if form.saved_at else ""
            )
            if key != self._rendered:
                self._rendered = key
                self.control.controls = [self._form_view(form)]
            return
        self._rendered = None
        self.control.controls = [self._due_card()]

    # -- the list on Today -------------------------------------------------------------------

    def _due_card(self) -> ft.Control:
        store = self._store
        rows: list[ft.Control] = []
        if store.message:
            rows.append(
                ft.Semantics(
                    identifier="assessment-thanks",
                    content=ft.Text(store.message, size=15, color=theme.SUCCESS),
                )
            )
        for assignment in store.due:
            started = assignment.draft_saved_at is not None
            due_text = ("Overdue · was due " if assignment.overdue else "Due ") + _when(
                assignment.due_at
            )
            rows.append(
                ft.Container(
                    content=ft.Row(
                        [
                            ft.Icon(
                                ft.Icons.ASSIGNMENT_OUTLINED,
                                color=theme.WARNING if assignment.overdue else theme.PRIMARY,
                                size=28,
                            ),
                            ft.Column(
                                [
                                    ft.Text(
                                        assignment.questionnaire_title,
                                        size=16,
                                        weight=ft.FontWeight.W_600,
                                        color=theme.TEXT,
                                    ),
                                    ft.Text(
                                        due_text,
                                        size=14,
                                        color=theme.WARNING
                                        if assignment.overdue
                                        else theme.TEXT_MUTED,
                                    ),
                                ],
                                spacing=2,
                                expand=True,
                            ),
                            ft.Semantics(
                                identifier=f"start-assessment-{assignment.questionnaire_key}",
                                content=widgets.primary_button(
                                    "Continue" if started else "Start",
                                    on_click=lambda _, a=assignment.id: self._ctx.page.run_task(
                                        self._store.open_form, a
                                    ),
                                ),
                            ),
                        ],
                        spacing=theme.SPACE_M,
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    padding=ft.Padding.symmetric(vertical=6),
                )
            )
        if not store.due and not store.message:
            return ft.Container()
        if store.due:
            rows.insert(
                0,
                widgets.muted(
                    "Your care team asked you to answer these. It takes a few minutes.", size=14
                ),
            )
        return _section("Questionnaires", rows, "due-assessments")

    # -- the form ----------------------------------------------------------------------------

    def _form_view(self, form: FormState) -> ft.Control:
        item = form.current
        number, total = form.progress
        header = [
            ft.Row(
                [
                    ft.Text(
                        form.form.title,
                        size=16,
                        weight=ft.FontWeight.W_600,
                        color=theme.PRIMARY_DARK,
                        expand=True,
                    ),
                    ft.IconButton(
                        ft.Icons.CLOSE, tooltip="Save and finish later", on_click=self._save_later
                    ),
                ]
            ),
            ft.Semantics(
                identifier="assessment-progress",
                label=f"Question {number} of {total}",
                content=ft.Column(
                    [
                        ft.Text(f"Question {number} of {total}", size=14, color=theme.TEXT_MUTED),
                        ft.ProgressBar(
                            value=number / max(total, 1),
                            color=theme.PRIMARY,
                            bgcolor=theme.PRIMARY_SOFT,
                            height=8,
                            border_radius=4,
                        ),
                    ],
                    spacing=6,
                ),
            ),
        ]
        body: list[ft.Control] = []
        if item is not None:
            if item.section:
                body.append(widgets.muted(item.section, size=15))
            body.append(
                ft.Semantics(
                    identifier="assessment-question",
                    header=True,
                    content=ft.Text(
                        item.text, size=22, weight=ft.FontWeight.W_600, color=theme.TEXT
                    ),
                )
            )
            if not item.required:
                body.append(widgets.muted("Optional", size=13))
            body.append(self._input(form, item))
        if form.error:
            body.append(
                ft.Semantics(
                    identifier="assessment-error",
                    content=ft.Text(form.error, size=15, color=theme.ERROR),
                )
            )
        last = form.is_last
        nav = ft.Row(
            [
                widgets.secondary_button("Back", on_click=self._back, icon=ft.Icons.ARROW_BACK)
                if number > 1
                else ft.Container(),
                ft.Semantics(
                    identifier="assessment-submit" if last else "assessment-next",
                    content=widgets.primary_button(
                        "Send answers" if last else "Next",
                        icon=ft.Icons.CHECK if last else ft.Icons.ARROW_FORWARD,
                        on_click=self._next,
                    ),
                ),
            ],
            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
        )
        saved = self._saved
        later = ft.TextButton(
            content=ft.Text("Save and finish later", size=15),
            on_click=self._save_later,
            height=theme.TOUCH_TARGET,
        )
        return ft.Semantics(
            identifier="assessment-form",
            container=True,
            content=widgets.card(
                ft.Column(
                    [
                        *header,
                        ft.Divider(height=1, color=theme.BORDER),
                        *body,
                        ft.Container(height=theme.SPACE_S),
                        nav,
                        ft.Row([later, saved], alignment=ft.MainAxisAlignment.SPACE_BETWEEN),
                    ],
                    spacing=theme.SPACE_M,
                )
            ),
        )

    def _input(self, form: FormState, item: FormItem) -> ft.Control:
        current = form.answers.get(item.link_id) or []
        if item.type == "boolean":
            options = [(True, "Yes"), (False, "No")]
            return ft.Column(
                [
                    self._option(form, item, value, label, value in current)
                    for value, label in options
                ],
                spacing=theme.SPACE_S,
            )
        if item.type in ("choice", "open-choice"):
            controls = [
                self._option(form, item, o.code, o.display, o.code in current) for o in item.options
            ]
            if item.type == "open-choice":
                codes = {o.code for o in item.options}
                other = next((v for v in current if v not in codes), "")
                controls.append(
                    self._text_field(form, item, "Something else (type it)", other, free=True)
                )
            return ft.Column(controls, spacing=theme.SPACE_S)
        value = str(current[0]) if current else ""
        label = {
            "integer": "Number",
            "decimal": "Number",
            "date": "Date (YYYY-MM-DD)",
        }.get(item.type, "Your answer")
        return self._text_field(form, item, label, value)

    def _option(
        self, form: FormState, item: FormItem, value: Any, label: str, selected: bool
    ) -> ft.Control:
        def choose(_: ft.ControlEvent) -> None:
            current = list(form.answers.get(item.link_id) or [])
            if item.repeats:
                current = (
                    [v for v in current if v != value] if value in current else [*current, value]
                )
            else:
                current = [value]
            form.answer(item.link_id, current)
            self.refresh()
            self._ctx.page.update()

        return ft.Semantics(
            identifier=f"option-{value}",
            button=True,
            selected=selected,
            label=label,
            content=ft.Container(
                content=ft.Row(
                    [
                        ft.Icon(
                            (ft.Icons.CHECK_BOX if item.repeats else ft.Icons.RADIO_BUTTON_CHECKED)
                            if selected
                            else (
                                ft.Icons.CHECK_BOX_OUTLINE_BLANK
                                if item.repeats
                                else ft.Icons.RADIO_BUTTON_UNCHECKED
                            ),
                            color=theme.PRIMARY if selected else theme.TEXT_MUTED,
                        ),
                        ft.Text(
                            label,
                            size=17,
                            color=theme.TEXT,
                            expand=True,
                            weight=ft.FontWeight.W_600 if selected else ft.FontWeight.W_400,
                        ),
                    ],
                    spacing=theme.SPACE_M,
                ),
                bgcolor=theme.PRIMARY_SOFT if selected else theme.SURFACE,
                border=ft.Border.all(
                    2 if selected else 1, theme.PRIMARY if selected else theme.BORDER
                ),
                border_radius=12,
                padding=ft.Padding.symmetric(horizontal=16, vertical=14),
                on_click=choose,
                ink=True,
            ),
        )

    def _text_field(
        self, form: FormState, item: FormItem, label: str, value: str, *, free: bool = False
    ) -> ft.Control:
        numeric = item.type in ("integer", "decimal")

        def changed(e: ft.ControlEvent) -> None:
            text = (e.control.value or "").strip()
            parsed: Any = text
            if numeric and text:
                try:
                    parsed = int(text) if item.type == "integer" else float(text)
                except ValueError:
                    parsed = text  # the server names the problem; the form keeps what was typed
            if free:
                codes = {o.code for o in item.options}
                kept = [v for v in form.answers.get(item.link_id) or [] if v in codes]
                kept = kept if item.repeats else []
                form.answer(item.link_id, kept + ([parsed] if text else []))
            else:
                form.answer(item.link_id, [parsed] if text else [])

        hint = None
        if numeric and (item.min_value is not None or item.max_value is not None):
            hint = f"From {item.min_value} to {item.max_value}"
        return ft.Semantics(
            identifier=f"answer-{item.link_id}",
            content=ft.TextField(
                label=label,
                value=value,
                helper=hint,
                multiline=item.type == "text",
                min_lines=3 if item.type == "text" else None,
                max_length=item.max_length,
                keyboard_type=ft.KeyboardType.NUMBER if numeric else ft.KeyboardType.TEXT,
                on_change=changed,
                border_radius=10,
                text_size=17,
                bgcolor=theme.SURFACE,
                border_color=theme.BORDER,
                focused_border_color=theme.PRIMARY,
            ),
        )

    # -- events ------------------------------------------------------------------------------

    def _next(self, _: ft.ControlEvent) -> None:
        form = self._store.form
        if form is None:
            return
        if form.is_last:
            self._ctx.page.run_task(self._store.submit)
            return
        moved = form.next()
        self.refresh()
        self._ctx.page.update()
        if moved and form.index % 3 == 0:
            self._ctx.page.run_task(self._store.save_draft)  # quietly, every few questions

    def _back(self, _: ft.ControlEvent) -> None:
        form = self._store.form
        if form is not None:
            form.back()
            self.refresh()
            self._ctx.page.update()

    def _save_later(self, _: ft.ControlEvent) -> None:
        self._ctx.page.run_task(self._store.save_and_close)

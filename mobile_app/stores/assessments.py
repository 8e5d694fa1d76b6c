"""Assessments on the client: what a patient (or family member) has to complete and the form
they fill in, one question at a time; and for staff, the alerts, the overdue list, sending a
questionnaire, and a patient's results with their trend.

The form evaluates enableWhen live with the same code the server validates with
(`shared.questionnaire`), saves drafts to resume on any device, and never scores: the score
exists only once the server has computed it.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from mobile_app.api.assessments import AssessmentsApi
from mobile_app.api.client import ApiClient, ApiError
from mobile_app.stores.observable import Observable
from mobile_app.stores.patients import LoadState
from shared.questionnaire import Form, FormItem, enabled_items, read_form
from shared.schemas.assessments import (
    AlertPublic,
    Answer,
    AssignmentDetail,
    AssignmentPublic,
    QuestionnaireSummary,
    ResultPublic,
    Trend,
)


class FormState:
    """One questionnaire being answered: the answers so far and which question is on screen.
    Plain Python, so tests drive it without a screen."""

    def __init__(self, detail: AssignmentDetail) -> None:
        self.detail = detail
        self.form: Form = read_form(detail.questionnaire)
        self.answers: dict[str, list[Any]] = {a.link_id: list(a.values) for a in detail.answers}
        self.index = 0
        self.error: str | None = None
        self.saved_at: datetime | None = detail.draft_saved_at
        self.submitted = False
        pages = self.pages()
        first_open = next((i for i, q in enumerate(pages) if not self.answers.get(q.link_id)), 0)
        self.index = first_open

    def pages(self) -> list[FormItem]:
        """The questions to show now, in order: disabled ones disappear as answers change."""
        enabled = enabled_items(self.form, self._given())
        return [q for q in self.form.questions() if q.link_id in enabled]

    def _given(self) -> dict[str, list[Any]]:
        return {k: v for k, v in self.answers.items() if v}

    @property
    def current(self) -> FormItem | None:
        pages = self.pages()
        if not pages:
            return None
        self.index = max(0, min(self.index, len(pages) - 1))
        return pages[self.index]

    @property
    def progress(self) -> tuple[int, int]:
        """(question number on screen, questions in all)."""
        return self.index + 1, len(self.pages())

    @property
    def is_last(self) -> bool:
        return self.index >= len(self.pages()) - 1

    def answer(self, link_id: str, values: list[Any]) -> None:
        self.error = None
        self.answers[link_id] = [v for v in values if v not in (None, "")]

    def can_advance(self) -> bool:
        item = self.current
        return item is None or not item.required or bool(self.answers.get(item.link_id))

    def next(self) -> bool:
        if not self.can_advance():
            self.error = "Please answer this question to continue."
            return False
        if not self.is_last:
            self.index += 1
        return True

    def back(self) -> None:
        self.error = None
        self.index = max(0, self.index - 1)

    def payload(self) -> list[Answer]:
        """Answers to the enabled questions only (the server would drop the others)."""
        enabled = {q.link_id for q in self.pages()}
        return [
            Answer(link_id=link_id, values=values)
            for link_id, values in self.answers.items()
            if values and link_id in enabled
        ]

    def missing(self) -> list[FormItem]:
        return [q for q in self.pages() if q.required and not self.answers.get(q.link_id)]


class AssessmentsStore(Observable):
    def __init__(self, api: ApiClient) -> None:
        super().__init__()
        self._api = AssessmentsApi(api)
        self.reset_state()

    def reset_state(self) -> None:
        # patient / family side
        self.patient_id: uuid.UUID | None = None
        self.due: list[AssignmentPublic] = []
        self.due_state = LoadState.idle
        self.form: FormState | None = None
        self.busy = False
        self.message: str | None = None
        # staff side
        self.staff_state = LoadState.idle
        self.questionnaires: list[QuestionnaireSummary] = []
        self.alerts: list[AlertPublic] = []
        self.overdue: list[AssignmentPublic] = []
        self.selected_patient_id: uuid.UUID | None = None
        self.results: list[ResultPublic] = []
        self.trends: list[Trend] = []
        self.results_state = LoadState.idle
        self.error: str | None = None

    def reset(self) -> None:
        """Forget everything, e.g. on sign-out, so no answers or scores outlive the session."""
        self.reset_state()
        self._notify()

    # -- patient and family ------------------------------------------------------------------

    async def load_due(self, patient_id: uuid.UUID) -> None:
        if patient_id != self.patient_id:
            self.due, self.form = [], None
        self.patient_id = patient_id
        self.due_state = LoadState.loading
        self._notify()
        try:
            page = await self._api.list_assignments(str(patient_id))
        except ApiError as exc:
            self.due_state, self.error = LoadState.failed, exc.message
            self._notify()
            return
        if patient_id != self.patient_id:
            return
        self.due = sorted(page.data, key=lambda a: a.due_at)
        self.due_state = LoadState.loaded
        self._notify()

    async def open_form(self, assignment_id: uuid.UUID) -> None:
        assert self.patient_id is not None
        self.busy, self.message, self.error = True, None, None
        self._notify()
        try:
            detail = await self._api.get_assignment(str(self.patient_id), str(assignment_id))
        except ApiError as exc:
            self.error = exc.message
        else:
            self.form = FormState(detail)
        self.busy = False
        self._notify()

    def close_form(self) -> None:
        self.form = None
        self._notify()

    async def save_draft(self) -> bool:
        form = self.form
        if form is None or self.patient_id is None:
            return False
        try:
            saved = await self._api.save_draft(
                str(self.patient_id), str(form.detail.id), form.payload()
            )
        except ApiError as exc:
            form.error = exc.message
            self._notify()
            return False
        form.saved_at = saved.saved_at
        self._notify()
        return True

    async def save_and_close(self) -> None:
        if await self.save_draft():
            self.form = None
            self.message = "Your answers are saved. You can finish later."
            if self.patient_id is not None:
                await self.load_due(self.patient_id)
            self._notify()

    async def submit(self) -> bool:
        form = self.form
        if form is None or self.patient_id is None:
            return False
        missing = form.missing()
        if missing:
            pages = form.pages()
            form.index = pages.index(missing[0])
            form.error = "Please answer this question before sending."
            self._notify()
            return False
        self.busy = True
        self._notify()
        try:
            await self._api.submit(str(self.patient_id), str(form.detail.id), form.payload())
        except ApiError as exc:
            form.error = exc.message
            self.busy = False
            self._notify()
            return False
        form.submitted = True
        self.form = None
        self.busy = False
        self.message = "Thank you. Your answers were sent to your care team."
        await self.load_due(self.patient_id)
        return True

    # -- staff -------------------------------------------------------------------------------

    async def load_staff(self) -> None:
        self.staff_state = LoadState.loading
        self._notify()
        try:
            questionnaires = await self._api.list_questionnaires()
            alerts = await self._api.alerts()
            overdue = await self._api.worklist(overdue=True)
        except ApiError as exc:
            self.staff_state, self.error = LoadState.failed, exc.message
            self._notify()
            return
        self.questionnaires = questionnaires.data
        self.alerts = alerts.data
        self.overdue = overdue.data
        self.staff_state = LoadState.loaded
        self._notify()

    async def assign(
        self,
        patient_id: uuid.UUID,
        questionnaire_id: uuid.UUID,
        *,
        due_in_days: int,
        recurrence_days: int | None,
        now: datetime | None = None,
    ) -> AssignmentPublic | None:
        start = now or datetime.now().astimezone()
        due_at = (start + timedelta(days=due_in_days)).replace(
            hour=23, minute=0, second=0, microsecond=0
        )
        self.error = self.message = None
        try:
            assigned = await self._api.assign(
                str(patient_id), str(questionnaire_id), due_at, recurrence_days
            )
        except ApiError as exc:
            self.error = exc.message
            self._notify()
            return None
        self.message = f"{assigned.questionnaire_title} sent to {assigned.patient_name}."
        self._notify()
        return assigned

    async def select_patient(self, patient_id: uuid.UUID) -> None:
        self.selected_patient_id = patient_id
        self.results, self.trends = [], []
        self.results_state = LoadState.loading
        self._notify()
        try:
            results = await self._api.results(str(patient_id))
            trends = await self._api.trends(str(patient_id))
        except ApiError as exc:
            if patient_id == self.selected_patient_id:
                self.results_state, self.error = LoadState.failed, exc.message
                self._notify()
            return
        if patient_id != self.selected_patient_id:
            return
        self.results, self.trends = results.data, trends.data
        self.results_state = LoadState.loaded
        self._notify()

    async def acknowledge(self, alert: AlertPublic, note: str | None = None) -> bool:
        try:
            done = await self._api.acknowledge(str(alert.patient_id), str(alert.id), note)
        except ApiError as exc:
            self.error = exc.message
            self._notify()
            return False
        self.alerts = [a for a in self.alerts if a.id != done.id]
        self.message = f"Alert for {done.patient_name} acknowledged."
        self._notify()
        return True

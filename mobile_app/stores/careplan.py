"""Care plan, Today and reading on the client: what is due today (mark done, or skip with a
reason), the plan, the reading list and library search, the article reader with "I have a
question"; for staff, applying a template, editing the plan and reading adherence.
Plain Python: tests drive it without a screen."""

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from mobile_app.api.careplans import CarePlansApi
from mobile_app.api.client import ApiClient, ApiError
from mobile_app.stores.observable import Observable
from mobile_app.stores.patients import LoadState
from shared.schemas.careplans import (
    AdherenceReport,
    CarePlanContent,
    CarePlanPublic,
    Change,
    TemplateSummary,
    TodayList,
    VersionSummary,
)
from shared.schemas.education import ArticleAssignmentPublic, ArticleDetail, ArticleSummary
from shared.schemas.messaging import MessageCreate

CONFLICT_MESSAGE = (
    "Someone else saved a newer version of this plan while you were editing. "
    "Reload to see their changes, then make yours again."
)
NEW_ACTIVITY: dict[str, dict[str, Any]] = {
    "medication": {"drug": "", "dose": "", "times": ["08:00"], "instructions": ""},
    "appointment": {"title": "", "location": "", "with_whom": "", "preparation": ""},
    "check_in": {"title": "", "instructions": "", "times": []},
    "lifestyle": {"title": "", "instructions": "", "times": [], "category": "exercise"},
    "education": {"article_slug": ""},
    "assessment": {"questionnaire_key": "phq-9", "title": "", "every_days": 14},
}
SECTION_LABELS = {"goals": "Goal", "activities": "Activity", "conditions": "Condition"}


def _validation_message(exc: ValidationError) -> str:
    """The first problem, named the way the editor shows it: "Goal 2 · target: ..."."""
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"] if not str(part).startswith("function-")]
    where = []
    if len(loc) >= 2 and loc[0] in SECTION_LABELS and loc[1].isdigit():
        where.append(f"{SECTION_LABELS[loc[0]]} {int(loc[1]) + 1}")
        loc = [p for p in loc[2:] if p not in NEW_ACTIVITY]
    if loc:
        where.append(loc[-1].replace("_", " ") if not loc[-1].isdigit() else loc[-2])
    text = str(first["msg"]).removeprefix("Value error, ")
    return f"{' · '.join(where)}: {text}" if where else text


def _clean(value: Any) -> Any:
    """Blank optional text becomes None, so the schema sees "not given" rather than ""."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


class CarePlanStore(Observable):
    def __init__(self, api: ApiClient) -> None:
        super().__init__()
        self._client = api
        self._api = CarePlansApi(api)
        self.reset_state()

    def reset_state(self) -> None:
        self.patient_id: uuid.UUID | None = None
        self.today: TodayList | None = None
        self.today_state = LoadState.idle
        self.plan: CarePlanPublic | None = None
        self.plan_state = LoadState.idle
        self.assigned: list[ArticleAssignmentPublic] = []
        self.results: list[ArticleSummary] = []
        self.query = ""
        self.learn_state = LoadState.idle
        self.article: ArticleDetail | None = None
        self.templates: list[TemplateSummary] = []
        self.adherence: dict[int, AdherenceReport] = {}
        self.error: str | None = None
        self.message: str | None = None
        # The staff editor: a working copy of the plan as plain JSON, edited field by field.
        self.editor_name: str | None = None
        self.draft: dict[str, Any] | None = None
        self.draft_rev = 0
        self.conflict = False
        self.section = "plan"
        self.adherence_days = 7
        self.versions: list[VersionSummary] = []
        self.diff_version: int | None = None
        self.diff: list[Change] = []

    def reset(self) -> None:
        self.reset_state()
        self._notify()

    def _switch(self, patient_id: uuid.UUID) -> None:
        if patient_id != self.patient_id:
            self.reset_state()
            self.patient_id = patient_id

    # -- Today ------------------------------------------------------------------------------

    async def load_today(self, patient_id: uuid.UUID) -> None:
        self._switch(patient_id)
        self.today_state = LoadState.loading
        self._notify()
        try:
            self.today = await self._api.today(str(patient_id))
            self.today_state = LoadState.loaded
        except ApiError as exc:
            self.today_state, self.error = LoadState.failed, exc.message
        self._notify()

    @property
    def overdue(self) -> int:
        return sum(1 for i in self.today.items if i.overdue) if self.today else 0

    async def mark(self, item_key: str, status: str, reason: str | None = None) -> bool:
        assert self.patient_id is not None
        self.error = None
        try:
            updated = await self._api.mark(str(self.patient_id), item_key, status, reason)
        except ApiError as exc:
            self.error = exc.message
            self._notify()
            return False
        if self.today is not None:
            self.today.items = [updated if i.key == item_key else i for i in self.today.items]
            self.today.done = sum(1 for i in self.today.items if i.status != "due")
        self._notify()
        return True

    # -- the plan ---------------------------------------------------------------------------

    async def load_plan(self, patient_id: uuid.UUID) -> None:
        self._switch(patient_id)
        self.plan_state = LoadState.loading
        self._notify()
        try:
            self.plan = await self._api.plan(str(patient_id))
            self.plan_state = LoadState.loaded
        except ApiError as exc:
            self.plan = None
            self.plan_state = LoadState.loaded if exc.status == 404 else LoadState.failed
            self.error = None if exc.status == 404 else exc.message
        self._notify()

    async def load_templates(self) -> None:
        try:
            self.templates = (await self._api.templates()).data
        except ApiError as exc:
            self.error = exc.message
        self._notify()

    async def apply_template(self, key: str) -> bool:
        assert self.patient_id is not None
        try:
            self.plan = await self._api.apply_template(
                str(self.patient_id), key, replace=self.plan is not None
            )
        except ApiError as exc:
            self.error = exc.message
            self._notify()
            return False
        self.message = "Template applied. Review the plan and adjust it for this patient."
        self._set_draft()
        await self.load_versions()
        return True

    async def save_plan(self, content: CarePlanContent, note: str) -> bool:
        assert self.patient_id is not None
        base = self.plan.version if self.plan else None
        self.error = None
        try:
            self.plan = await self._api.save_plan(str(self.patient_id), content, base, note)
        except ApiError as exc:
            self.conflict = exc.status == 409
            self.error = CONFLICT_MESSAGE if self.conflict else exc.message
            self._notify()
            return False
        self.conflict = False
        self.message = f"Saved as version {self.plan.version}."
        self._set_draft()
        await self.load_versions()
        return True

    async def load_adherence(self) -> None:
        assert self.patient_id is not None
        try:
            for days in (7, 30):
                self.adherence[days] = await self._api.adherence(str(self.patient_id), days)
        except ApiError as exc:
            self.error = None if exc.status == 404 else exc.message
        self._notify()

    # -- the staff editor -------------------------------------------------------------------

    async def open_editor(self, patient_id: uuid.UUID, name: str) -> None:
        """Staff open one patient's plan: the plan as a draft, templates, history, adherence."""
        self._switch(patient_id)
        self.editor_name, self.section = name, "plan"
        self.error = self.message = None
        self.conflict = False
        await self.load_plan(patient_id)
        self._set_draft()
        if not self.templates:
            await self.load_templates()
        await self.load_versions()
        await self.load_adherence()

    def close_editor(self) -> None:
        self.editor_name = None
        self.draft = None
        self.error = self.message = None
        self._notify()

    async def reload_plan(self) -> None:
        """After a conflict: take the newer version and start the edit again from it."""
        assert self.patient_id is not None
        self.conflict = False
        self.error = None
        await self.load_plan(self.patient_id)
        self._set_draft()
        self.message = (
            f"Reloaded version {self.plan.version}." if self.plan else "There is no plan yet."
        )
        await self.load_versions()

    def show_section(self, section: str) -> None:
        self.section = section
        self._notify()

    def _set_draft(self) -> None:
        self.draft = self.plan.content.model_dump(mode="json") if self.plan else None
        self.draft_rev += 1
        self._notify()

    def start_blank(self) -> None:
        self.draft = CarePlanContent().model_dump(mode="json")
        self.draft_rev += 1
        self._notify()

    def set_field(self, section: str, index: int | None, name: str, value: Any) -> None:
        """One edit from the form; the form is not rebuilt, so typing is never interrupted."""
        assert self.draft is not None
        target = self.draft if index is None else self.draft[section][index]
        if name == "times":
            parts = str(value or "").replace(";", ",").split(",")
            target[name] = [p.strip() for p in parts if p.strip()]
        else:
            target[name] = value

    def choose(self, section: str, index: int | None, name: str, value: Any) -> None:
        """A choice (a goal's status, a task's category): shown at once, so the form redraws."""
        self.set_field(section, index, name, value)
        self.draft_rev += 1
        self._notify()

    def add_goal(self) -> None:
        assert self.draft is not None
        self.draft["goals"].append(
            {"title": "", "measure": "", "target": "", "status": "in_progress"}
        )
        self.draft_rev += 1
        self._notify()

    def add_activity(self, kind: str) -> None:
        assert self.draft is not None
        entry: dict[str, Any] = {"kind": kind, **NEW_ACTIVITY[kind]}
        today = date.today().isoformat()
        if kind == "appointment":
            entry["starts_at"] = (
                datetime.now()
                .astimezone()
                .replace(hour=10, minute=0, second=0, microsecond=0)
                .isoformat(timespec="minutes")
            )
        else:
            entry["start_date"] = today
        self.draft["activities"].append(entry)
        self.draft_rev += 1
        self._notify()

    def remove(self, section: str, index: int) -> None:
        assert self.draft is not None
        del self.draft[section][index]
        self.draft_rev += 1
        self._notify()

    def draft_content(self) -> CarePlanContent:
        """The draft as a plan (ValidationError when something cannot be saved)."""
        assert self.draft is not None
        raw = {k: _clean(v) if k == "summary" else v for k, v in self.draft.items()}
        raw["goals"] = [{k: _clean(v) for k, v in g.items()} for g in raw["goals"]]
        activities = []
        for activity in raw["activities"]:
            cleaned = {k: _clean(v) for k, v in activity.items()}
            for required in ("drug", "dose", "title", "article_slug", "questionnaire_key"):
                if required in activity and cleaned[required] is None:
                    cleaned[required] = ""  # keep it, so the schema names what is missing
            starts_at = cleaned.get("starts_at")
            if isinstance(starts_at, str):
                try:
                    moment = datetime.fromisoformat(starts_at.strip())
                    cleaned["starts_at"] = (
                        moment if moment.tzinfo else moment.astimezone()
                    ).isoformat()
                except ValueError:
                    pass  # the schema explains it
            activities.append(cleaned)
        raw["activities"] = activities
        return CarePlanContent.model_validate(raw)

    async def save_draft(self, note: str) -> bool:
        self.message = None
        try:
            content = self.draft_content()
        except ValidationError as exc:
            self.error = f"Not saved. {_validation_message(exc)}"
            self._notify()
            return False
        return await self.save_plan(content, note.strip() or "Edited the plan")

    async def load_versions(self) -> None:
        assert self.patient_id is not None
        try:
            self.versions = (await self._api.versions(str(self.patient_id))).data
        except ApiError as exc:
            self.versions = []
            if exc.status != 404:
                self.error = exc.message
        self._notify()

    async def show_diff(self, version: int) -> None:
        """What changed in `version` compared with the one before it."""
        assert self.patient_id is not None
        self.diff_version = version
        if version <= 1:
            self.diff = []
            self._notify()
            return
        try:
            self.diff = (await self._api.diff(str(self.patient_id), version - 1, version)).data
        except ApiError as exc:
            self.error = exc.message
        self._notify()

    def set_adherence_days(self, days: int) -> None:
        self.adherence_days = days
        self._notify()

    # -- reading ----------------------------------------------------------------------------

    async def load_learn(self, patient_id: uuid.UUID) -> None:
        self._switch(patient_id)
        self.learn_state = LoadState.loading
        self._notify()
        try:
            self.assigned = (await self._api.reading_list(str(patient_id))).data
            self.results = (await self._api.search(self.query)).data
            self.learn_state = LoadState.loaded
        except ApiError as exc:
            self.learn_state, self.error = LoadState.failed, exc.message
        self._notify()

    async def search(self, query: str) -> None:
        self.query = query.strip()
        try:
            self.results = (await self._api.search(self.query)).data
        except ApiError as exc:
            self.error = exc.message
        self._notify()

    async def open_article(self, slug: str) -> None:
        """Show the article and record the read for the patient viewed."""
        assert self.patient_id is not None
        self.message = None
        try:
            self.article = await self._api.article(slug)
            receipt = await self._api.record_read(str(self.patient_id), slug)
        except ApiError as exc:
            self.error = exc.message
            self._notify()
            return
        for assignment in self.assigned:
            if assignment.article.slug == slug:
                assignment.first_read_at = assignment.first_read_at or receipt.first_read_at
                assignment.read_count = receipt.read_count
        self._notify()

    def close_article(self) -> None:
        self.article = None
        self._notify()

    async def ask_question(self, question: str) -> bool:
        """Send a message to the care-team thread that names and links the article."""
        assert self.patient_id is not None and self.article is not None
        article = self.article
        body = (
            f"{question.strip()}\n\nAbout the article \u201c{article.title}\u201d "
            f"(carecircle://learn/{article.slug})"
        )
        try:
            thread = await self._client.care_team_thread(str(self.patient_id))
            await self._client.send_message(
                str(thread.id), MessageCreate(client_id=f"q-{uuid.uuid4().hex}", body=body)
            )
        except ApiError as exc:
            self.error = exc.message
            self._notify()
            return False
        self.message = "Your question was sent to your care team."
        self._notify()
        return True

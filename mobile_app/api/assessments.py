"""Assessment calls, kept beside the one HTTP client whose session, token refresh and error
handling they use (nothing outside `mobile_app.api` talks to the backend)."""

from datetime import datetime

from mobile_app.api.client import ApiClient
from shared.schemas.assessments import (
    AlertAcknowledge,
    AlertPublic,
    Answer,
    AnswersIn,
    AssignmentCreate,
    AssignmentDetail,
    AssignmentPublic,
    DraftSaved,
    QuestionnaireSummary,
    ResultDetail,
    ResultPublic,
    SubmissionReceipt,
    Trend,
)
from shared.schemas.common import Page


class AssessmentsApi:
    def __init__(self, api: ApiClient) -> None:
        self._api = api

    async def list_questionnaires(self) -> Page[QuestionnaireSummary]:
        response = await self._api._call("GET", "/questionnaires")
        return self._api._parse(Page[QuestionnaireSummary], response)

    async def assign(
        self,
        patient_id: str,
        questionnaire_id: str,
        due_at: datetime,
        recurrence_days: int | None,
    ) -> AssignmentPublic:
        body = AssignmentCreate.model_validate(
            {
                "questionnaire_id": questionnaire_id,
                "due_at": due_at,
                "recurrence_days": recurrence_days,
            }
        )
        response = await self._api._call("POST", f"/patients/{patient_id}/assessments", json=body)
        return self._api._parse(AssignmentPublic, response)

    async def list_assignments(
        self, patient_id: str, *, include_closed: bool = False
    ) -> Page[AssignmentPublic]:
        params = {"include_closed": "true"} if include_closed else None
        response = await self._api._call(
            "GET", f"/patients/{patient_id}/assessments", params=params
        )
        return self._api._parse(Page[AssignmentPublic], response)

    async def get_assignment(self, patient_id: str, assignment_id: str) -> AssignmentDetail:
        response = await self._api._call(
            "GET", f"/patients/{patient_id}/assessments/{assignment_id}"
        )
        return self._api._parse(AssignmentDetail, response)

    async def save_draft(
        self, patient_id: str, assignment_id: str, answers: list[Answer]
    ) -> DraftSaved:
        response = await self._api._call(
            "PUT",
            f"/patients/{patient_id}/assessments/{assignment_id}/draft",
            json=AnswersIn(answers=answers),
        )
        return self._api._parse(DraftSaved, response)

    async def submit(
        self, patient_id: str, assignment_id: str, answers: list[Answer]
    ) -> SubmissionReceipt:
        response = await self._api._call(
            "POST",
            f"/patients/{patient_id}/assessments/{assignment_id}/submit",
            json=AnswersIn(answers=answers),
        )
        return self._api._parse(SubmissionReceipt, response)

    async def results(self, patient_id: str) -> Page[ResultPublic]:
        response = await self._api._call("GET", f"/patients/{patient_id}/assessment-results")
        return self._api._parse(Page[ResultPublic], response)

    async def result(self, patient_id: str, response_id: str) -> ResultDetail:
        response = await self._api._call(
            "GET", f"/patients/{patient_id}/assessment-results/{response_id}"
        )
        return self._api._parse(ResultDetail, response)

    async def trends(self, patient_id: str) -> Page[Trend]:
        response = await self._api._call("GET", f"/patients/{patient_id}/assessment-trends")
        return self._api._parse(Page[Trend], response)

    async def alerts(self) -> Page[AlertPublic]:
        response = await self._api._call("GET", "/assessment-alerts")
        return self._api._parse(Page[AlertPublic], response)

    async def acknowledge(
        self, patient_id: str, alert_id: str, note: str | None = None
    ) -> AlertPublic:
        response = await self._api._call(
            "POST",
            f"/patients/{patient_id}/assessment-alerts/{alert_id}/acknowledge",
            json=AlertAcknowledge(note=note),
        )
        return self._api._parse(AlertPublic, response)

    async def worklist(self, *, overdue: bool = False) -> Page[AssignmentPublic]:
        params = {"overdue": "true"} if overdue else None
        response = await self._api._call("GET", "/assessment-assignments", params=params)
        return self._api._parse(Page[AssignmentPublic], response)

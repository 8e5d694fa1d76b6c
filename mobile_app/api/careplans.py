"""Care-plan and education calls, beside the one HTTP client whose session, token refresh and
error handling they use (nothing outside `mobile_app.api` talks to the backend)."""

from datetime import date

from mobile_app.api.client import ApiClient
from shared.schemas.careplans import (
    AdherenceReport,
    CarePlanContent,
    CarePlanPublic,
    CarePlanWrite,
    Change,
    MarkIn,
    TemplateApply,
    TemplateSummary,
    TodayItem,
    TodayList,
    VersionDetail,
    VersionSummary,
)
from shared.schemas.common import Page
from shared.schemas.education import (
    ArticleAssignmentPublic,
    ArticleDetail,
    ArticleSummary,
    ReadReceipt,
)


class CarePlansApi:
    def __init__(self, api: ApiClient) -> None:
        self._api = api

    async def today(self, patient_id: str, day: date | None = None) -> TodayList:
        params = {"date": day.isoformat()} if day else None
        response = await self._api._call("GET", f"/patients/{patient_id}/today", params=params)
        return self._api._parse(TodayList, response)

    async def mark(
        self, patient_id: str, item_key: str, status: str, reason: str | None = None
    ) -> TodayItem:
        body = MarkIn.model_validate({"item_key": item_key, "status": status, "reason": reason})
        response = await self._api._call("POST", f"/patients/{patient_id}/today/marks", json=body)
        return self._api._parse(TodayItem, response)

    async def plan(self, patient_id: str) -> CarePlanPublic:
        response = await self._api._call("GET", f"/patients/{patient_id}/care-plan")
        return self._api._parse(CarePlanPublic, response)

    async def save_plan(
        self, patient_id: str, content: CarePlanContent, base_version: int | None, note: str
    ) -> CarePlanPublic:
        body = CarePlanWrite(content=content, base_version=base_version, note=note)
        response = await self._api._call("PUT", f"/patients/{patient_id}/care-plan", json=body)
        return self._api._parse(CarePlanPublic, response)

    async def templates(self) -> Page[TemplateSummary]:
        response = await self._api._call("GET", "/care-plan-templates")
        return self._api._parse(Page[TemplateSummary], response)

    async def apply_template(self, patient_id: str, key: str, replace: bool) -> CarePlanPublic:
        body = TemplateApply(template_key=key, replace=replace)
        response = await self._api._call(
            "POST", f"/patients/{patient_id}/care-plan/apply-template", json=body
        )
        return self._api._parse(CarePlanPublic, response)

    async def adherence(self, patient_id: str, days: int) -> AdherenceReport:
        response = await self._api._call(
            "GET", f"/patients/{patient_id}/adherence", params={"days": str(days)}
        )
        return self._api._parse(AdherenceReport, response)

    async def versions(self, patient_id: str) -> Page[VersionSummary]:
        response = await self._api._call("GET", f"/patients/{patient_id}/care-plan/versions")
        return self._api._parse(Page[VersionSummary], response)

    async def version(self, patient_id: str, version: int) -> VersionDetail:
        response = await self._api._call(
            "GET", f"/patients/{patient_id}/care-plan/versions/{version}"
        )
        return self._api._parse(VersionDetail, response)

    async def diff(self, patient_id: str, older: int, newer: int) -> Page[Change]:
        response = await self._api._call(
            "GET",
            f"/patients/{patient_id}/care-plan/diff",
            params={"from": str(older), "to": str(newer)},
        )
        return self._api._parse(Page[Change], response)

    # -- education ---------------------------------------------------------------------------

    async def reading_list(self, patient_id: str) -> Page[ArticleAssignmentPublic]:
        response = await self._api._call("GET", f"/patients/{patient_id}/articles")
        return self._api._parse(Page[ArticleAssignmentPublic], response)

    async def search(self, q: str) -> Page[ArticleSummary]:
        response = await self._api._call("GET", "/articles", params={"q": q} if q else None)
        return self._api._parse(Page[ArticleSummary], response)

    async def article(self, slug: str) -> ArticleDetail:
        response = await self._api._call("GET", f"/articles/{slug}")
        return self._api._parse(ArticleDetail, response)

    async def record_read(self, patient_id: str, slug: str) -> ReadReceipt:
        response = await self._api._call("POST", f"/patients/{patient_id}/articles/{slug}/read")
        return self._api._parse(ReadReceipt, response)

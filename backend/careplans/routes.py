"""Care plans over REST: thin handlers; access is declared in each signature."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from backend.careplans import service, templates
from backend.careplans.permissions import (
    PlanEditor,
    PlanHistoryReader,
    PlanViewer,
    ReminderChooser,
    TodayMarker,
)
from backend.core.db import SessionDep
from backend.core.errors import ERROR_RESPONSES
from backend.identity.permissions import StaffUser
from shared.schemas.careplans import (
    AdherenceReport,
    CarePlanPublic,
    CarePlanWrite,
    Change,
    MarkIn,
    ReminderSettings,
    TemplateApply,
    TemplateSummary,
    TodayItem,
    TodayList,
    VersionDetail,
    VersionSummary,
)
from shared.schemas.common import Page

router = APIRouter(tags=["care plans"], responses=ERROR_RESPONSES)

PLAN = "/patients/{patient_id}/care-plan"
VersionPath = Annotated[int, Path(ge=1, description="A version number of the plan.")]


@router.get("/care-plan-templates", response_model=Page[TemplateSummary])
async def list_templates(principal: StaffUser) -> Page[TemplateSummary]:
    """Plan templates for common conditions, to apply to a patient and then edit."""
    data = templates.summaries()
    return Page(data=data, count=len(data))


@router.get(PLAN, response_model=CarePlanPublic)
async def get_plan(access: PlanViewer, session: SessionDep) -> CarePlanPublic:
    """The current plan. For the patient and family, also what changed since they last
    looked (which then counts as seen). 404 `no_plan` while there is none."""
    return await service.current(session, access=access)


@router.put(PLAN, response_model=CarePlanPublic)
async def put_plan(body: CarePlanWrite, access: PlanEditor, session: SessionDep) -> CarePlanPublic:
    """Save the whole plan as a new version (the first save creates it). Give `base_version`
    to be refused with 409 if someone saved in between. Impossible schedules, unknown fields
    and unknown articles are refused (422); nothing is half-written."""
    return await service.write(session, access=access, data=body)


@router.post(f"{PLAN}/apply-template", response_model=CarePlanPublic)
async def apply_template(
    body: TemplateApply, access: PlanEditor, session: SessionDep
) -> CarePlanPublic:
    """Start the plan from a template (dates from `start_date`, in the patient's time zone).
    409 if the patient has a plan, unless `replace` is set."""
    return await service.apply_template(session, access=access, data=body)


@router.get(f"{PLAN}/versions", response_model=Page[VersionSummary])
async def list_versions(access: PlanHistoryReader, session: SessionDep) -> Page[VersionSummary]:
    """Every version, newest first: who changed what and when."""
    data = await service.versions(session, access=access)
    return Page(data=data, count=len(data))


@router.get(f"{PLAN}/versions/{{version}}", response_model=VersionDetail)
async def get_version(
    version: VersionPath, access: PlanHistoryReader, session: SessionDep
) -> VersionDetail:
    """One earlier (or the current) version in full."""
    return await service.version_detail(session, access=access, version=version)


@router.get(f"{PLAN}/diff", response_model=Page[Change])
async def diff_versions(
    access: PlanHistoryReader,
    session: SessionDep,
    from_version: Annotated[
        int | None, Query(alias="from", ge=1, description="Older version; default the one before.")
    ] = None,
    to_version: Annotated[
        int | None, Query(alias="to", ge=1, description="Newer version; default current.")
    ] = None,
) -> Page[Change]:
    """What changed between two versions."""
    data = await service.compare(
        session, access=access, from_version=from_version, to_version=to_version
    )
    return Page(data=data, count=len(data))


@router.get(f"{PLAN}/fhir", response_model=dict[str, Any])
async def export_plan(access: PlanHistoryReader, session: SessionDep) -> dict[str, Any]:
    """The current plan as a FHIR R4B collection Bundle: CarePlan, Conditions, Goals, and
    MedicationRequests (with timing), Appointments and Tasks for its activities."""
    return await service.fhir(session, access=access)


@router.get("/patients/{patient_id}/today", response_model=TodayList)
async def get_today(
    access: PlanViewer,
    session: SessionDep,
    day: Annotated[
        date | None, Query(alias="date", description="A local date; default today.")
    ] = None,
) -> TodayList:
    """The to-do list for one day in the patient's time zone: doses, appointments, tasks,
    questionnaires and reading, each due, done or skipped, and whether it is overdue."""
    return await service.today(session, access=access, day=day)


@router.post("/patients/{patient_id}/today/marks", response_model=TodayItem)
async def mark_item(body: MarkIn, access: TodayMarker, session: SessionDep) -> TodayItem:
    """Mark an item done, or skipped with a reason (recorded as adherence). Marking it again
    changes it. 404 for an item that is not on this patient's plan."""
    return await service.mark(session, access=access, data=body)


@router.get("/patients/{patient_id}/adherence", response_model=AdherenceReport)
async def get_adherence(
    access: PlanHistoryReader,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=90, description="7 or 30, usually.")] = 7,
) -> AdherenceReport:
    """Done, skipped and missed items over the last `days` local days, overall and per
    medication."""
    return await service.adherence(session, access=access, days=days)


@router.get("/patients/{patient_id}/reminder-settings", response_model=ReminderSettings)
async def get_reminder_settings(access: PlanViewer, session: SessionDep) -> ReminderSettings:
    """When medication and appointment reminders are sent."""
    return await service.reminder_settings(session, access=access)


@router.put("/patients/{patient_id}/reminder-settings", response_model=ReminderSettings)
async def put_reminder_settings(
    body: ReminderSettings, access: ReminderChooser, session: SessionDep
) -> ReminderSettings:
    """Choose reminder times per medication, the appointment lead time and quiet hours
    (reminders inside them stay in the app, without a push)."""
    return await service.update_reminder_settings(session, access=access, data=body)

"""Assessments over REST: thin handlers; access is declared in each signature."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from backend.assessments import service
from backend.assessments.permissions import (
    AssessmentAnswerer,
    AssessmentManager,
    AssessmentViewer,
    ResultsReader,
)
from backend.assessments.schemas import (
    AlertAcknowledge,
    AlertPublic,
    AnswersIn,
    AssignmentCreate,
    AssignmentDetail,
    AssignmentPublic,
    DraftSaved,
    QuestionnaireDetail,
    QuestionnaireSummary,
    QuestionnaireUpload,
    ResultDetail,
    ResultPublic,
    SubmissionReceipt,
    Trend,
)
from backend.core.db import SessionDep
from backend.core.deps import SettingsDep
from backend.core.errors import ERROR_RESPONSES
from backend.identity.permissions import StaffUser
from backend.messaging.permissions import HubDep
from shared.schemas.common import Page

router = APIRouter(tags=["assessments"], responses=ERROR_RESPONSES)

PATIENT = "/patients/{patient_id}"
AssignmentId = Annotated[uuid.UUID, Path(description="The assignment's id.")]
ResponseId = Annotated[uuid.UUID, Path(description="The completed response's id.")]


@router.get("/questionnaires", response_model=Page[QuestionnaireSummary])
async def list_questionnaires(
    principal: StaffUser, session: SessionDep
) -> Page[QuestionnaireSummary]:
    """Instruments staff can send: the shipped ones and those uploaded by your organization."""
    data = await service.list_questionnaires(session, principal=principal)
    return Page(data=data, count=len(data))


@router.post(
    "/questionnaires", response_model=QuestionnaireDetail, status_code=status.HTTP_201_CREATED
)
async def upload_questionnaire(
    body: QuestionnaireUpload, principal: StaffUser, session: SessionDep
) -> QuestionnaireDetail:
    """Add a FHIR R4 Questionnaire (and optional scoring rules) for your organization. It is
    validated with `fhir.resources` and against the supported item types; every problem is
    named in `error.fields`."""
    return await service.upload_questionnaire(session, principal=principal, data=body)


@router.get("/questionnaires/{questionnaire_id}", response_model=QuestionnaireDetail)
async def get_questionnaire(
    questionnaire_id: uuid.UUID, principal: StaffUser, session: SessionDep
) -> QuestionnaireDetail:
    """The Questionnaire resource and its scoring rules."""
    return await service.get_questionnaire(
        session, principal=principal, questionnaire_id=questionnaire_id
    )


@router.get("/assessment-assignments", response_model=Page[AssignmentPublic])
async def worklist(
    principal: StaffUser,
    session: SessionDep,
    overdue: Annotated[bool, Query(description="Only those past their due date.")] = False,
) -> Page[AssignmentPublic]:
    """Open questionnaires of the patients on your care teams, most overdue first."""
    data = await service.worklist(session, principal=principal, overdue_only=overdue)
    return Page(data=data, count=len(data))


@router.get("/assessment-alerts", response_model=Page[AlertPublic])
async def my_alerts(
    principal: StaffUser,
    session: SessionDep,
    include_acknowledged: Annotated[bool, Query(description="Also acknowledged ones.")] = False,
) -> Page[AlertPublic]:
    """Critical-answer alerts for the patients on your care teams (open ones first)."""
    data = await service.my_alerts(
        session, principal=principal, include_acknowledged=include_acknowledged
    )
    return Page(data=data, count=len(data))


@router.get(f"{PATIENT}/assessments", response_model=Page[AssignmentPublic])
async def list_assignments(
    access: AssessmentViewer,
    session: SessionDep,
    include_closed: Annotated[
        bool, Query(description="Also completed and cancelled ones.")
    ] = False,
) -> Page[AssignmentPublic]:
    """Questionnaires sent to the patient, latest due date first."""
    data = await service.list_assignments(session, access=access, include_closed=include_closed)
    return Page(data=data, count=len(data))


@router.post(
    f"{PATIENT}/assessments", response_model=AssignmentPublic, status_code=status.HTTP_201_CREATED
)
async def assign(
    body: AssignmentCreate, access: AssessmentManager, session: SessionDep
) -> AssignmentPublic:
    """Send a questionnaire, with a due date and an optional recurrence in days."""
    return await service.assign(session, access=access, data=body)


@router.get(f"{PATIENT}/assessments/{{assignment_id}}", response_model=AssignmentDetail)
async def get_assignment(
    assignment_id: AssignmentId, access: AssessmentViewer, session: SessionDep
) -> AssignmentDetail:
    """The questionnaire to render and the saved draft (or submitted answers)."""
    return await service.assignment_detail(session, access=access, assignment_id=assignment_id)


@router.put(f"{PATIENT}/assessments/{{assignment_id}}/draft", response_model=DraftSaved)
async def save_draft(
    assignment_id: AssignmentId, body: AnswersIn, access: AssessmentAnswerer, session: SessionDep
) -> DraftSaved:
    """Save unfinished answers (replacing the previous draft) to resume later. Answers are
    checked for type and range; required items are not enforced; answers to items disabled by
    enableWhen are dropped and listed in `dropped`."""
    return await service.save_draft(session, access=access, assignment_id=assignment_id, data=body)


@router.post(f"{PATIENT}/assessments/{{assignment_id}}/submit", response_model=SubmissionReceipt)
async def submit(
    assignment_id: AssignmentId,
    body: AnswersIn,
    access: AssessmentAnswerer,
    session: SessionDep,
    settings: SettingsDep,
    hub: HubDep,
) -> SubmissionReceipt:
    """Submit final answers. They are validated (required items included), scored on the
    server and cannot be changed afterwards (409 on a second submission). A critical answer
    alerts the care team at once."""
    return await service.submit(
        session,
        access=access,
        assignment_id=assignment_id,
        data=body,
        hub=hub,
        keyring=settings.keyring,
    )


@router.post(f"{PATIENT}/assessments/{{assignment_id}}/cancel", response_model=AssignmentPublic)
async def cancel_assignment(
    assignment_id: AssignmentId, access: AssessmentManager, session: SessionDep
) -> AssignmentPublic:
    """Withdraw a questionnaire that has not been submitted (409 once it has)."""
    return await service.cancel(session, access=access, assignment_id=assignment_id)


@router.get(f"{PATIENT}/assessment-results", response_model=Page[ResultPublic])
async def list_results(
    access: ResultsReader,
    session: SessionDep,
    questionnaire_key: Annotated[
        str | None, Query(max_length=60, description="Only this instrument, e.g. `phq-9`.")
    ] = None,
) -> Page[ResultPublic]:
    """Scored results, newest first: score, band, positive screen, what drove it."""
    data = await service.list_results(session, access=access, questionnaire_key=questionnaire_key)
    return Page(data=data, count=len(data))


@router.get(f"{PATIENT}/assessment-results/{{response_id}}", response_model=ResultDetail)
async def get_result(
    response_id: ResponseId, access: ResultsReader, session: SessionDep
) -> ResultDetail:
    """One result with every answer as the patient gave it."""
    return await service.result_detail(session, access=access, response_id=response_id)


@router.get(f"{PATIENT}/assessment-results/{{response_id}}/fhir", response_model=dict[str, Any])
async def export_result(
    response_id: ResponseId, access: ResultsReader, session: SessionDep
) -> dict[str, Any]:
    """A FHIR R4 Bundle (collection): the QuestionnaireResponse and, for a scored instrument,
    an Observation with the total score derived from it."""
    return await service.fhir_bundle(session, access=access, response_id=response_id)


@router.get(f"{PATIENT}/assessment-trends", response_model=Page[Trend])
async def trends(access: ResultsReader, session: SessionDep) -> Page[Trend]:
    """Each scored instrument's history for the patient, oldest first, with the last change."""
    data = await service.trends(session, access=access)
    return Page(data=data, count=len(data))


@router.get(f"{PATIENT}/assessment-alerts", response_model=Page[AlertPublic])
async def patient_alerts(access: ResultsReader, session: SessionDep) -> Page[AlertPublic]:
    """Critical-answer alerts for this patient, newest first."""
    data = await service.patient_alerts(session, access=access)
    return Page(data=data, count=len(data))


@router.post(f"{PATIENT}/assessment-alerts/{{alert_id}}/acknowledge", response_model=AlertPublic)
async def acknowledge_alert(
    alert_id: uuid.UUID, body: AlertAcknowledge, access: AssessmentManager, session: SessionDep
) -> AlertPublic:
    """Record that you have seen the alert and acted (with an optional note); audited."""
    return await service.acknowledge(session, access=access, alert_id=alert_id, note=body.note)

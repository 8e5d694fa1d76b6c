"""The rules of assessments: sending questionnaires, saving and submitting answers, scoring on
the server, raising alerts for critical answers, follow-ups and recurrence, results and trends.

Services only flush; the request's commit makes a submission land whole: the response, its
score, the alert, the care team's notifications and push jobs, the urgent message in the
care-team thread and the next assignment are one transaction. Audit details hold ids and
counts, never answers or scores.
"""

import hashlib
import json
import re
import uuid
from collections import defaultdict
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.assessments import definition as definitions
from backend.assessments import fhir_export, scoring
from backend.assessments.definition import Definition, DefinitionError
from backend.assessments.models import (
    AssessmentAlert,
    AssessmentAssignment,
    AssessmentResponse,
    Questionnaire,
)
from backend.assessments.validation import check_answers
from backend.audit import service as audit
from backend.careteam.access import PatientAccess, active_grant_clause, active_membership_clause
from backend.careteam.models import CareTeamMember, ProxyGrant
from backend.core.crypto import Keyring
from backend.core.errors import Conflict, NotFound, Unprocessable
from backend.core.types import utcnow
from backend.identity.models import User
from backend.identity.permissions import Principal
from backend.messaging.membership import ensure_care_team_thread, sync_patient
from backend.messaging.service import post_system_message
from backend.notifications.service import notify
from backend.patients.models import Patient
from backend.realtime.hub import Hub
from shared.enums import (
    AccessBasis,
    AlertStatus,
    AssignmentReason,
    AssignmentStatus,
    GrantScope,
    NotificationCategory,
)
from shared.schemas.assessments import (
    AlertPublic,
    Answer,
    AnsweredItem,
    AnswersIn,
    AssignmentCreate,
    AssignmentDetail,
    AssignmentPublic,
    DraftSaved,
    Driver,
    Finding,
    QuestionnaireDetail,
    QuestionnaireSummary,
    QuestionnaireUpload,
    ResultDetail,
    ResultPublic,
    ScoringRules,
    SubmissionReceipt,
    Trend,
    TrendPoint,
)

OPEN = (AssignmentStatus.pending, AssignmentStatus.in_progress)
ALERT_TITLE = "Urgent: a patient needs follow-up"
ALERT_BODY = "An assessment answer needs urgent review. Open CareCircle to see it."
ASSIGNED_TITLE = "New questionnaire"
ASSIGNED_BODY = "Your care team sent a questionnaire. Open CareCircle to complete it."

# -- questionnaires --------------------------------------------------------------------------


@lru_cache(maxsize=128)
def _parse_cached(_key: str, text: str) -> Definition:
    return definitions.parse(json.loads(text))


def definition_of(questionnaire: Questionnaire) -> Definition:
    text = json.dumps(questionnaire.resource, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return _parse_cached(f"{questionnaire.id}:{digest}", text)


def rules_of(questionnaire: Questionnaire) -> ScoringRules | None:
    return ScoringRules.model_validate(questionnaire.scoring) if questionnaire.scoring else None


def _summary(questionnaire: Questionnaire) -> QuestionnaireSummary:
    rules = rules_of(questionnaire)
    return QuestionnaireSummary(
        id=questionnaire.id,
        key=questionnaire.key,
        title=questionnaire.title,
        version=questionnaire.version,
        description=questionnaire.description,
        loinc_code=questionnaire.loinc_code,
        shipped=questionnaire.shipped,
        scored=bool(rules and rules.score),
        question_count=len(definition_of(questionnaire).questions()),
    )


def _visible(principal: Principal) -> Any:
    return (Questionnaire.organization_id.is_(None)) | (
        Questionnaire.organization_id == principal.organization_id
    )


async def list_questionnaires(
    session: AsyncSession, *, principal: Principal
) -> list[QuestionnaireSummary]:
    rows = await session.scalars(
        select(Questionnaire)
        .where(_visible(principal), Questionnaire.active.is_(True))
        .order_by(Questionnaire.shipped.desc(), Questionnaire.title)
    )
    return [_summary(q) for q in rows]


async def _questionnaire(
    session: AsyncSession, principal: Principal, questionnaire_id: uuid.UUID
) -> Questionnaire:
    questionnaire = await session.get(Questionnaire, questionnaire_id)
    if questionnaire is None or questionnaire.organization_id not in (
        None,
        principal.organization_id,
    ):
        raise NotFound("No questionnaire with this id.")
    return questionnaire


async def get_questionnaire(
    session: AsyncSession, *, principal: Principal, questionnaire_id: uuid.UUID
) -> QuestionnaireDetail:
    questionnaire = await _questionnaire(session, principal, questionnaire_id)
    return QuestionnaireDetail(
        **_summary(questionnaire).model_dump(),
        resource=questionnaire.resource,
        scoring=rules_of(questionnaire),
    )


def _key_for(resource: dict[str, Any]) -> str:
    raw = str(resource.get("name") or resource.get("id") or resource.get("title") or "")
    key = re.sub(r"[^a-z0-9]+", "-", raw.casefold()).strip("-")[:60]
    if not key:
        raise Unprocessable(
            "The questionnaire needs a name, id or title to be known by.",
            code="invalid_questionnaire",
            fields=[{"field": "resource.name", "message": "This field is required."}],
        )
    return key


def _refuse_definition(problems: list[tuple[str, str]], prefix: str) -> None:
    fields = [{"field": f"{prefix}.{where}", "message": what} for where, what in problems]
    first = f"{problems[0][0]}: {problems[0][1]}"
    more = f" ({len(problems) - 1} more)" if len(problems) > 1 else ""
    raise Unprocessable(
        f"This questionnaire cannot be used. {first}{more}",
        code="invalid_questionnaire",
        fields=fields,
    )


async def upload_questionnaire(
    session: AsyncSession, *, principal: Principal, data: QuestionnaireUpload
) -> QuestionnaireDetail:
    """Store a staff member's Questionnaire for their organization, after validating it with
    `fhir.resources` and against what CareCircle supports (every problem named)."""
    try:
        parsed = definitions.parse(data.resource)
    except DefinitionError as exc:
        _refuse_definition(exc.problems, "resource")
        raise  # unreachable: _refuse_definition raises
    if data.scoring is not None:
        try:
            scoring.check_rules(parsed, data.scoring)
        except scoring.RulesError as exc:
            _refuse_definition(exc.problems, "scoring")
    key = _key_for(data.resource)
    version = str(data.resource.get("version") or "1")
    exists = await session.scalar(
        select(Questionnaire.id).where(
            Questionnaire.organization_id == principal.organization_id,
            Questionnaire.key == key,
            Questionnaire.version == version,
        )
    )
    if exists is not None:
        raise Conflict(
            f"Your organization already has questionnaire {key!r} version {version}; "
            "give the new one another version.",
            code="questionnaire_exists",
        )
    questionnaire = Questionnaire(
        organization_id=principal.organization_id,
        key=key,
        version=version,
        title=parsed.title[:200],
        description=data.resource.get("description"),
        loinc_code=next(
            (
                c.get("code")
                for c in data.resource.get("code") or []
                if c.get("system") == "http://loinc.org"
            ),
            None,
        ),
        resource=data.resource,
        scoring=data.scoring.model_dump(mode="json") if data.scoring else None,
        created_by_id=principal.id,
    )
    session.add(questionnaire)
    await session.flush()
    audit.record(
        session,
        action="questionnaire.upload",
        actor=principal,
        resource_type="questionnaire",
        resource_id=questionnaire.id,
    )
    return await get_questionnaire(session, principal=principal, questionnaire_id=questionnaire.id)


# -- assignments -----------------------------------------------------------------------------


async def _names(session: AsyncSession, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    return dict(rows.tuples().all())


async def _assignments_public(
    session: AsyncSession, rows: list[AssessmentAssignment]
) -> list[AssignmentPublic]:
    if not rows:
        return []
    questionnaires = {
        q.id: q
        for q in await session.scalars(
            select(Questionnaire).where(Questionnaire.id.in_({r.questionnaire_id for r in rows}))
        )
    }
    patients = {
        p.id: p
        for p in await session.scalars(
            select(Patient).where(Patient.id.in_({r.patient_id for r in rows}))
        )
    }
    responses = {
        r.assignment_id: r
        for r in await session.scalars(
            select(AssessmentResponse).where(
                AssessmentResponse.assignment_id.in_({r.id for r in rows})
            )
        )
    }
    names = await _names(session, {r.assigned_by_id for r in rows})
    now = utcnow()
    out = []
    for row in rows:
        questionnaire = questionnaires[row.questionnaire_id]
        response = responses.get(row.id)
        out.append(
            AssignmentPublic(
                id=row.id,
                patient_id=row.patient_id,
                patient_name=patients[row.patient_id].full_name,
                questionnaire_id=questionnaire.id,
                questionnaire_key=questionnaire.key,
                questionnaire_title=questionnaire.title,
                status=AssignmentStatus(row.status),
                reason=AssignmentReason(row.reason),
                due_at=row.due_at,
                overdue=row.status in OPEN and row.due_at < now,
                recurrence_days=row.recurrence_days,
                assigned_by_name=names.get(row.assigned_by_id) if row.assigned_by_id else None,
                created_at=row.created_at,
                completed_at=row.completed_at,
                draft_saved_at=(
                    response.updated_at
                    if response and response.status == AssignmentStatus.in_progress
                    else None
                ),
                response_id=response.id if response else None,
            )
        )
    return out


async def _notify_patient_side(
    session: AsyncSession, patient: Patient, *, exclude: uuid.UUID | None = None
) -> None:
    """Tell the patient, and family who answer for them, that a questionnaire is waiting."""
    people: set[uuid.UUID] = set()
    if patient.user_id is not None:
        people.add(patient.user_id)
    grants = await session.execute(
        select(ProxyGrant.grantee_id, ProxyGrant.scopes).where(
            ProxyGrant.patient_id == patient.id, active_grant_clause(utcnow())
        )
    )
    people.update(g for g, scopes in grants if GrantScope.assessments in scopes)
    people.discard(exclude)  # type: ignore[arg-type]
    for user_id in sorted(people):
        notify(
            session,
            user_id=user_id,
            category=NotificationCategory.assessments,
            title=ASSIGNED_TITLE,
            body=ASSIGNED_BODY,
            link="/today",
            push=True,
            collapse_key="assessment-assigned",
        )


async def _create_assignment(
    session: AsyncSession,
    *,
    patient: Patient,
    questionnaire: Questionnaire,
    due_at: Any,
    recurrence_days: int | None,
    reason: AssignmentReason,
    assigned_by_id: uuid.UUID | None,
    previous_id: uuid.UUID | None = None,
    notify_exclude: uuid.UUID | None = None,
) -> AssessmentAssignment:
    assignment = AssessmentAssignment(
        patient_id=patient.id,
        questionnaire_id=questionnaire.id,
        status=AssignmentStatus.pending,
        reason=reason,
        due_at=due_at,
        recurrence_days=recurrence_days,
        assigned_by_id=assigned_by_id,
        previous_id=previous_id,
    )
    session.add(assignment)
    await session.flush()
    await _notify_patient_side(session, patient, exclude=notify_exclude)
    return assignment


async def assign(
    session: AsyncSession, *, access: PatientAccess, data: AssignmentCreate
) -> AssignmentPublic:
    questionnaire = await _questionnaire(session, access.principal, data.questionnaire_id)
    if not questionnaire.active:
        raise Conflict("This questionnaire is no longer offered.", code="questionnaire_inactive")
    if data.due_at < utcnow() - timedelta(days=1):
        raise Unprocessable(
            "The due date is in the past; choose today or a later day.",
            code="due_in_past",
            fields=[{"field": "body.due_at", "message": "Choose today or a later day."}],
        )
    assignment = await _create_assignment(
        session,
        patient=access.patient,
        questionnaire=questionnaire,
        due_at=data.due_at,
        recurrence_days=data.recurrence_days,
        reason=AssignmentReason.manual,
        assigned_by_id=access.principal.id,
    )
    access.record(
        session,
        "assessment.assign",
        resource_type="assessment_assignment",
        resource_id=assignment.id,
        detail={"questionnaire_id": str(questionnaire.id)},
    )
    return (await _assignments_public(session, [assignment]))[0]


async def list_assignments(
    session: AsyncSession, *, access: PatientAccess, include_closed: bool
) -> list[AssignmentPublic]:
    statement = select(AssessmentAssignment).where(
        AssessmentAssignment.patient_id == access.patient.id
    )
    if not include_closed:
        statement = statement.where(AssessmentAssignment.status.in_(OPEN))
    rows = list(
        (await session.scalars(statement.order_by(AssessmentAssignment.due_at.desc()))).all()
    )
    access.record(session, "assessment.list", detail={"count": len(rows)})
    return await _assignments_public(session, rows)


async def _assignment(
    session: AsyncSession, access: PatientAccess, assignment_id: uuid.UUID, *, lock: bool = False
) -> AssessmentAssignment:
    statement = select(AssessmentAssignment).where(
        AssessmentAssignment.id == assignment_id,
        AssessmentAssignment.patient_id == access.patient.id,
    )
    if lock:
        statement = statement.with_for_update()
    assignment = await session.scalar(statement)
    if assignment is None:
        raise NotFound("No questionnaire with this id was sent to this person.")
    return assignment


def _answers_out(answers: dict[str, list[Any]]) -> list[Answer]:
    return [Answer(link_id=link_id, values=values) for link_id, values in answers.items()]


async def assignment_detail(
    session: AsyncSession, *, access: PatientAccess, assignment_id: uuid.UUID
) -> AssignmentDetail:
    assignment = await _assignment(session, access, assignment_id)
    questionnaire = await session.get(Questionnaire, assignment.questionnaire_id)
    assert questionnaire is not None
    response = await session.scalar(
        select(AssessmentResponse).where(AssessmentResponse.assignment_id == assignment.id)
    )
    public = (await _assignments_public(session, [assignment]))[0]
    names = await _names(session, {response.answered_by_id} if response else set())
    access.record(
        session, "assessment.read", resource_type="assessment_assignment", resource_id=assignment.id
    )
    return AssignmentDetail(
        **public.model_dump(),
        questionnaire=questionnaire.resource,
        answers=_answers_out(response.answers) if response else [],
        answered_by_name=names.get(response.answered_by_id) if response else None,
        on_behalf=bool(response and response.on_behalf),
    )


def _require_open(assignment: AssessmentAssignment) -> None:
    if assignment.status == AssignmentStatus.completed:
        raise Conflict(
            "This questionnaire was already submitted; submitted answers are final.",
            code="already_submitted",
        )
    if assignment.status == AssignmentStatus.cancelled:
        raise Conflict("The care team cancelled this questionnaire.", code="cancelled")


async def _response_for(
    session: AsyncSession, access: PatientAccess, assignment: AssessmentAssignment
) -> AssessmentResponse:
    response = await session.scalar(
        select(AssessmentResponse).where(AssessmentResponse.assignment_id == assignment.id)
    )
    if response is None:
        response = AssessmentResponse(
            assignment_id=assignment.id,
            patient_id=assignment.patient_id,
            questionnaire_id=assignment.questionnaire_id,
            answered_by_id=access.principal.id,
            access_basis=access.basis,
        )
        session.add(response)
    response.answered_by_id = access.principal.id
    response.on_behalf = access.basis == AccessBasis.proxy
    response.access_basis = access.basis
    response.updated_at = utcnow()
    return response


async def save_draft(
    session: AsyncSession, *, access: PatientAccess, assignment_id: uuid.UUID, data: AnswersIn
) -> DraftSaved:
    """Keep unfinished answers so the person can resume on any device; nothing is scored."""
    assignment = await _assignment(session, access, assignment_id, lock=True)
    _require_open(assignment)
    questionnaire = await session.get(Questionnaire, assignment.questionnaire_id)
    assert questionnaire is not None
    checked = check_answers(definition_of(questionnaire), data.answers, final=False)
    response = await _response_for(session, access, assignment)
    response.answers = checked.answers
    assignment.status = AssignmentStatus.in_progress
    await session.flush()
    access.record(
        session,
        "assessment.draft_save",
        resource_type="assessment_response",
        resource_id=response.id,
        detail={"answered": len(checked.answers), "dropped": len(checked.dropped)},
    )
    return DraftSaved(
        assignment_id=assignment.id,
        saved_at=response.updated_at,
        answered=len(checked.answers),
        dropped=checked.dropped,
    )


async def submit(
    session: AsyncSession,
    *,
    access: PatientAccess,
    assignment_id: uuid.UUID,
    data: AnswersIn,
    hub: Hub,
    keyring: Keyring,
) -> SubmissionReceipt:
    """Final answers: validated, scored on the server, and acted on in this transaction."""
    assignment = await _assignment(session, access, assignment_id, lock=True)
    _require_open(assignment)
    questionnaire = await session.get(Questionnaire, assignment.questionnaire_id)
    assert questionnaire is not None
    definition = definition_of(questionnaire)
    checked = check_answers(definition, data.answers, final=True)
    verdict = scoring.evaluate(
        definition, rules_of(questionnaire), checked.answers, sex=access.patient.sex
    )
    now = utcnow()
    response = await _response_for(session, access, assignment)
    response.answers = checked.answers
    response.status = AssignmentStatus.completed
    response.submitted_at = now
    response.score = verdict.score
    response.band_code = verdict.band.code if verdict.band else None
    response.positive = verdict.positive
    response.critical = bool(verdict.critical)
    response.result = verdict.as_result()
    assignment.status = AssignmentStatus.completed
    assignment.completed_at = now
    await session.flush()
    access.record(
        session,
        "assessment.submit",
        resource_type="assessment_response",
        resource_id=response.id,
        detail={
            "assignment_id": str(assignment.id),
            "answered": len(checked.answers),
            "dropped": len(checked.dropped),
        },
    )
    for finding in verdict.critical:
        await _raise_alert(
            session,
            access=access,
            response=response,
            questionnaire=questionnaire,
            finding=finding,
            hub=hub,
            keyring=keyring,
        )
    for rule in verdict.follow_ups:
        await _follow_up(
            session,
            access=access,
            assignment=assignment,
            key=rule.assign,
            due_in_days=rule.due_in_days,
        )
    next_assignment = None
    if assignment.recurrence_days:
        step = timedelta(days=assignment.recurrence_days)
        due = assignment.due_at + step
        if due <= now:
            due = now + step
        next_assignment = await _create_assignment(
            session,
            patient=access.patient,
            questionnaire=questionnaire,
            due_at=due,
            recurrence_days=assignment.recurrence_days,
            reason=AssignmentReason.recurrence,
            assigned_by_id=assignment.assigned_by_id,
            previous_id=assignment.id,
            notify_exclude=access.principal.id,
        )
    return SubmissionReceipt(
        response_id=response.id,
        assignment_id=assignment.id,
        submitted_at=now,
        dropped=checked.dropped,
        next_assignment_id=next_assignment.id if next_assignment else None,
    )


async def _active_team(session: AsyncSession, patient_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(CareTeamMember.user_id)
        .join(User, User.id == CareTeamMember.user_id)
        .where(
            CareTeamMember.patient_id == patient_id,
            active_membership_clause(utcnow()),
            User.is_active.is_(True),
        )
    )
    return sorted(set(rows.all()))


async def _raise_alert(
    session: AsyncSession,
    *,
    access: PatientAccess,
    response: AssessmentResponse,
    questionnaire: Questionnaire,
    finding: Finding,
    hub: Hub,
    keyring: Keyring,
) -> AssessmentAlert:
    """The alert row, an urgent push to every active team member (generic text: no names, no
    answers), and an urgent message in the care-team thread, all in the submitting
    transaction."""
    patient = access.patient
    alert = AssessmentAlert(
        patient_id=patient.id,
        response_id=response.id,
        rule_id=finding.rule_id,
        reason=finding.label[:200],
    )
    session.add(alert)
    await session.flush()
    for user_id in await _active_team(session, patient.id):
        notify(
            session,
            user_id=user_id,
            category=NotificationCategory.alerts,
            title=ALERT_TITLE,
            body=ALERT_BODY,
            link=f"/assessments?alert={alert.id}",
            urgent=True,
            push=True,
            collapse_key=f"alert-{alert.id}",
        )
    await sync_patient(session, patient, hub=hub, actor_id=None)
    thread = await ensure_care_team_thread(session, patient, hub=hub)
    await post_system_message(
        session,
        hub=hub,
        keyring=keyring,
        conversation=thread,
        body=(
            f"Urgent assessment alert: the {_short_title(questionnaire)} just completed has an "
            "answer that needs follow-up today. Care team: review and acknowledge it under "
            "Assessments."
        ),
        urgent=True,
    )
    audit.record(
        session,
        action="assessment.alert_raise",
        actor=access.principal,
        patient_id=patient.id,
        access_basis=access.basis,
        on_behalf_of_id=patient.id if access.basis == AccessBasis.proxy else None,
        resource_type="assessment_alert",
        resource_id=alert.id,
        detail={"response_id": str(response.id), "rule_id": finding.rule_id},
    )
    return alert


def _short_title(questionnaire: Questionnaire) -> str:
    match = re.search(r"\(([^)]+)\)\s*$", questionnaire.title)
    return match.group(1) if match else questionnaire.title


async def _follow_up(
    session: AsyncSession,
    *,
    access: PatientAccess,
    assignment: AssessmentAssignment,
    key: str,
    due_in_days: int,
) -> AssessmentAssignment | None:
    """Assign the follow-up instrument unless one is already waiting for this patient."""
    target = await session.scalar(
        select(Questionnaire)
        .where(
            Questionnaire.key == key,
            _visible(access.principal),
            Questionnaire.active.is_(True),
        )
        .order_by(Questionnaire.organization_id.is_(None), Questionnaire.created_at.desc())
    )
    if target is None:
        return None
    waiting = await session.scalar(
        select(AssessmentAssignment.id).where(
            AssessmentAssignment.patient_id == access.patient.id,
            AssessmentAssignment.questionnaire_id == target.id,
            AssessmentAssignment.status.in_(OPEN),
        )
    )
    if waiting is not None:
        return None
    follow_up = await _create_assignment(
        session,
        patient=access.patient,
        questionnaire=target,
        due_at=utcnow() + timedelta(days=due_in_days),
        recurrence_days=None,
        reason=AssignmentReason.follow_up,
        assigned_by_id=None,
        previous_id=assignment.id,
        notify_exclude=access.principal.id,
    )
    access.record(
        session,
        "assessment.follow_up_assign",
        resource_type="assessment_assignment",
        resource_id=follow_up.id,
        detail={"from_assignment_id": str(assignment.id)},
    )
    return follow_up


async def cancel(
    session: AsyncSession, *, access: PatientAccess, assignment_id: uuid.UUID
) -> AssignmentPublic:
    assignment = await _assignment(session, access, assignment_id, lock=True)
    _require_open(assignment)
    assignment.status = AssignmentStatus.cancelled
    assignment.cancelled_at = utcnow()
    assignment.cancelled_by_id = access.principal.id
    await session.flush()
    access.record(
        session,
        "assessment.cancel",
        resource_type="assessment_assignment",
        resource_id=assignment.id,
    )
    return (await _assignments_public(session, [assignment]))[0]


# -- results ---------------------------------------------------------------------------------


async def _results(
    session: AsyncSession, rows: list[AssessmentResponse]
) -> list[tuple[AssessmentResponse, Questionnaire, ResultPublic]]:
    questionnaires = {
        q.id: q
        for q in await session.scalars(
            select(Questionnaire).where(Questionnaire.id.in_({r.questionnaire_id for r in rows}))
        )
    }
    names = await _names(session, {r.answered_by_id for r in rows})
    out = []
    for row in rows:
        questionnaire = questionnaires[row.questionnaire_id]
        result = row.result or {}
        assert row.submitted_at is not None
        out.append(
            (
                row,
                questionnaire,
                ResultPublic(
                    response_id=row.id,
                    assignment_id=row.assignment_id,
                    patient_id=row.patient_id,
                    questionnaire_id=questionnaire.id,
                    questionnaire_key=questionnaire.key,
                    questionnaire_title=questionnaire.title,
                    submitted_at=row.submitted_at,
                    score=row.score,
                    score_max=result.get("score_max"),
                    band_code=row.band_code,
                    band_label=result.get("band_label"),
                    positive=row.positive,
                    critical=row.critical,
                    critical_findings=[Finding(**f) for f in result.get("critical", [])],
                    flags=[Finding(**f) for f in result.get("flags", [])],
                    drivers=[Driver(**d) for d in result.get("drivers", [])],
                    answered_by_name=names.get(row.answered_by_id, "Unknown"),
                    on_behalf=row.on_behalf,
                ),
            )
        )
    return out


async def list_results(
    session: AsyncSession, *, access: PatientAccess, questionnaire_key: str | None
) -> list[ResultPublic]:
    statement = (
        select(AssessmentResponse)
        .where(
            AssessmentResponse.patient_id == access.patient.id,
            AssessmentResponse.status == AssignmentStatus.completed,
        )
        .order_by(AssessmentResponse.submitted_at.desc())
        .limit(500)
    )
    if questionnaire_key:
        statement = statement.join(
            Questionnaire, Questionnaire.id == AssessmentResponse.questionnaire_id
        ).where(Questionnaire.key == questionnaire_key)
    rows = list((await session.scalars(statement)).all())
    access.record(session, "assessment.results_read", detail={"count": len(rows)})
    return [public for _, _, public in await _results(session, rows)]


async def _completed_response(
    session: AsyncSession, access: PatientAccess, response_id: uuid.UUID
) -> AssessmentResponse:
    response = await session.get(AssessmentResponse, response_id)
    if (
        response is None
        or response.patient_id != access.patient.id
        or response.status != AssignmentStatus.completed
    ):
        raise NotFound("No completed questionnaire with this id for this patient.")
    return response


async def result_detail(
    session: AsyncSession, *, access: PatientAccess, response_id: uuid.UUID
) -> ResultDetail:
    response = await _completed_response(session, access, response_id)
    [(_, questionnaire, public)] = await _results(session, [response])
    definition = definition_of(questionnaire)
    answers = [
        AnsweredItem(
            link_id=link_id,
            text=definition.items[link_id].text,
            answers=[scoring.display(definition.items[link_id], v) for v in values],
        )
        for link_id, values in response.answers.items()
        if link_id in definition.items
    ]
    access.record(
        session,
        "assessment.result_read",
        resource_type="assessment_response",
        resource_id=response.id,
    )
    return ResultDetail(**public.model_dump(), answers=answers)


async def fhir_bundle(
    session: AsyncSession, *, access: PatientAccess, response_id: uuid.UUID
) -> dict[str, Any]:
    response = await _completed_response(session, access, response_id)
    questionnaire = await session.get(Questionnaire, response.questionnaire_id)
    assert questionnaire is not None
    access.record(
        session,
        "assessment.fhir_export",
        resource_type="assessment_response",
        resource_id=response.id,
    )
    return fhir_export.bundle(response, questionnaire, definition_of(questionnaire), access.patient)


async def trends(session: AsyncSession, *, access: PatientAccess) -> list[Trend]:
    rows = list(
        (
            await session.scalars(
                select(AssessmentResponse)
                .where(
                    AssessmentResponse.patient_id == access.patient.id,
                    AssessmentResponse.status == AssignmentStatus.completed,
                    AssessmentResponse.score.is_not(None),
                )
                .order_by(AssessmentResponse.submitted_at)
                .limit(2000)
            )
        ).all()
    )
    grouped: dict[str, list[tuple[AssessmentResponse, Questionnaire, ResultPublic]]] = defaultdict(
        list
    )
    for entry in await _results(session, rows):
        grouped[entry[1].key].append(entry)
    out = []
    for key, entries in grouped.items():
        questionnaire = entries[-1][1]
        rules = rules_of(questionnaire)
        points = [
            TrendPoint(
                response_id=public.response_id,
                submitted_at=public.submitted_at,
                score=public.score or 0,
                band_code=public.band_code,
                band_label=public.band_label,
            )
            for _, _, public in entries
        ]
        change = points[-1].score - points[-2].score if len(points) > 1 else None
        direction = (
            None
            if change is None
            else "same"
            if change == 0
            else "worse"
            if change > 0
            else "better"
        )
        out.append(
            Trend(
                questionnaire_key=key,
                questionnaire_title=questionnaire.title,
                score_min=rules.score.min if rules and rules.score else 0,
                score_max=rules.score.max if rules and rules.score else 0,
                bands=rules.bands if rules else [],
                points=points,
                change=change,
                direction=direction,
            )
        )
    out.sort(key=lambda t: t.points[-1].submitted_at, reverse=True)
    access.record(session, "assessment.trends_read", detail={"instruments": len(out)})
    return out


# -- alerts and the team's worklist ----------------------------------------------------------


async def _alerts_public(session: AsyncSession, rows: list[AssessmentAlert]) -> list[AlertPublic]:
    if not rows:
        return []
    patients = {
        p.id: p
        for p in await session.scalars(
            select(Patient).where(Patient.id.in_({r.patient_id for r in rows}))
        )
    }
    titles = dict(
        (
            await session.execute(
                select(AssessmentResponse.id, Questionnaire.title)
                .join(Questionnaire, Questionnaire.id == AssessmentResponse.questionnaire_id)
                .where(AssessmentResponse.id.in_({r.response_id for r in rows}))
            )
        )
        .tuples()
        .all()
    )
    names = await _names(session, {r.acknowledged_by_id for r in rows})
    return [
        AlertPublic(
            id=row.id,
            patient_id=row.patient_id,
            patient_name=patients[row.patient_id].full_name,
            response_id=row.response_id,
            questionnaire_title=titles.get(row.response_id, "Questionnaire"),
            reason=row.reason,
            status=AlertStatus(row.status),
            created_at=row.created_at,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by_name=names.get(row.acknowledged_by_id)
            if row.acknowledged_by_id
            else None,
            note=row.note,
        )
        for row in rows
    ]


async def patient_alerts(session: AsyncSession, *, access: PatientAccess) -> list[AlertPublic]:
    rows = list(
        (
            await session.scalars(
                select(AssessmentAlert)
                .where(AssessmentAlert.patient_id == access.patient.id)
                .order_by(AssessmentAlert.created_at.desc())
                .limit(200)
            )
        ).all()
    )
    access.record(session, "assessment.alerts_read", detail={"count": len(rows)})
    return await _alerts_public(session, rows)


async def acknowledge(
    session: AsyncSession, *, access: PatientAccess, alert_id: uuid.UUID, note: str | None
) -> AlertPublic:
    alert = await session.scalar(
        select(AssessmentAlert)
        .where(AssessmentAlert.id == alert_id, AssessmentAlert.patient_id == access.patient.id)
        .with_for_update()
    )
    if alert is None:
        raise NotFound("No alert with this id for this patient.")
    if alert.status == AlertStatus.acknowledged:
        names = await _names(session, {alert.acknowledged_by_id})
        who = names.get(alert.acknowledged_by_id) if alert.acknowledged_by_id else None
        raise Conflict(
            f"This alert was already acknowledged{f' by {who}' if who else ''}.",
            code="already_acknowledged",
        )
    alert.status = AlertStatus.acknowledged
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = access.principal.id
    alert.note = note.strip() if note and note.strip() else None
    await session.flush()
    access.record(
        session,
        "assessment.alert_acknowledge",
        resource_type="assessment_alert",
        resource_id=alert.id,
    )
    return (await _alerts_public(session, [alert]))[0]


async def _team_patient_ids(session: AsyncSession, principal: Principal) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(CareTeamMember.patient_id).where(
            CareTeamMember.user_id == principal.id, active_membership_clause(utcnow())
        )
    )
    return sorted(set(rows.all()))


def _audit_listed(
    session: AsyncSession, principal: Principal, action: str, patient_ids: set[uuid.UUID]
) -> None:
    for patient_id in sorted(patient_ids):
        audit.record(
            session,
            action=action,
            actor=principal,
            patient_id=patient_id,
            access_basis=AccessBasis.care_team,
        )


async def my_alerts(
    session: AsyncSession, *, principal: Principal, include_acknowledged: bool
) -> list[AlertPublic]:
    """Alerts for the patients on the caller's care teams, open ones first."""
    patient_ids = await _team_patient_ids(session, principal)
    if not patient_ids:
        return []
    statement = select(AssessmentAlert).where(AssessmentAlert.patient_id.in_(patient_ids))
    if not include_acknowledged:
        statement = statement.where(AssessmentAlert.status == AlertStatus.open)
    rows = list(
        (
            await session.scalars(statement.order_by(AssessmentAlert.created_at.desc()).limit(200))
        ).all()
    )
    rows.sort(key=lambda a: a.status != AlertStatus.open)
    _audit_listed(session, principal, "assessment.alerts_list", {r.patient_id for r in rows})
    return await _alerts_public(session, rows)


async def worklist(
    session: AsyncSession, *, principal: Principal, overdue_only: bool
) -> list[AssignmentPublic]:
    """Open assignments of the caller's patients, most overdue first."""
    patient_ids = await _team_patient_ids(session, principal)
    if not patient_ids:
        return []
    statement = select(AssessmentAssignment).where(
        AssessmentAssignment.patient_id.in_(patient_ids),
        AssessmentAssignment.status.in_(OPEN),
    )
    if overdue_only:
        statement = statement.where(AssessmentAssignment.due_at < utcnow())
    rows = list(
        (await session.scalars(statement.order_by(AssessmentAssignment.due_at).limit(500))).all()
    )
    _audit_listed(session, principal, "assessment.worklist", {r.patient_id for r in rows})
    return await _assignments_public(session, rows)

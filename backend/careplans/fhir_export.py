"""The current plan as FHIR R4B: a CarePlan addressing Conditions, with Goals and activities
referencing a MedicationRequest (with its timing), an Appointment, or a Task, in a collection
Bundle. Each resource is validated by `fhir.resources` before it leaves the server."""

import uuid
from datetime import timedelta
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.goal import Goal as FhirGoal
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.task import Task

from backend.careplans.models import CarePlan
from backend.patients.models import Patient
from shared.enums import GoalStatus
from shared.schemas.careplans import (
    AppointmentActivity,
    CarePlanContent,
    EducationActivity,
    MedicationActivity,
    TaskActivity,
)

SNOMED = "http://snomed.info/sct"
ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_ACHIEVEMENT = {
    GoalStatus.in_progress: "in-progress",
    GoalStatus.improving: "improving",
    GoalStatus.achieved: "achieved",
    GoalStatus.not_achieved: "not-achieved",
    GoalStatus.cancelled: "not-achieved",
}


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def care_plan_bundle(plan: CarePlan, content: CarePlanContent, patient: Patient) -> dict[str, Any]:
    subject = {"reference": f"Patient/{patient.id}", "display": patient.full_name}
    entries: list[tuple[str, Any]] = []
    addresses = []
    for condition in content.conditions:
        coding = [{"system": SNOMED, "code": condition.code, "display": condition.display}]
        resource = Condition(
            clinicalStatus={"coding": [{"system": CLINICAL, "code": "active"}]},
            code={"coding": coding if condition.code else None, "text": condition.display},
            subject=subject,
        )
        url = _urn()
        entries.append((url, resource))
        addresses.append({"reference": url})
    goal_refs = []
    for goal in content.goals:
        achieved = _ACHIEVEMENT[goal.status]
        resource = FhirGoal(
            lifecycleStatus="cancelled" if goal.status == GoalStatus.cancelled else "active",
            achievementStatus={"coding": [{"system": ACHIEVEMENT, "code": achieved}]},
            description={"text": goal.title},
            subject=subject,
            target=[
                {
                    "measure": {"text": goal.measure},
                    "detailString": goal.target,
                    "dueDate": goal.due_date,
                }
            ],
            note=[{"text": goal.clinical_detail}] if goal.clinical_detail else None,
        )
        url = _urn()
        entries.append((url, resource))
        goal_refs.append({"reference": url})
    activities = []
    for activity in content.activities:
        resource: Any
        if isinstance(activity, MedicationActivity):
            bounds = {"start": activity.start_date.isoformat()}
            if activity.end_date:
                bounds["end"] = activity.end_date.isoformat()
            resource = MedicationRequest(
                status="active",
                intent="order",
                medicationCodeableConcept={"text": activity.drug},
                subject=subject,
                dosageInstruction=[
                    {
                        "text": f"{activity.dose}"
                        + (f". {activity.instructions}" if activity.instructions else ""),
                        "patientInstruction": activity.instructions,
                        "route": {"text": activity.route} if activity.route else None,
                        "timing": {
                            "repeat": {
                                "boundsPeriod": bounds,
                                "frequency": len(activity.times),
                                "period": 1,
                                "periodUnit": "d",
                                "timeOfDay": [t.strftime("%H:%M:%S") for t in activity.times],
                            }
                        },
                    }
                ],
                note=[{"text": activity.clinical_detail}] if activity.clinical_detail else None,
            )
        elif isinstance(activity, AppointmentActivity):
            participants = [{"actor": subject, "status": "accepted"}]
            if activity.with_whom:
                participants.append(
                    {"actor": {"display": activity.with_whom}, "status": "accepted"}
                )
            resource = Appointment(
                status="booked",
                description=activity.title,
                start=activity.starts_at,
                end=activity.starts_at + timedelta(minutes=activity.duration_minutes),
                minutesDuration=activity.duration_minutes,
                comment=activity.location,
                patientInstruction=activity.preparation,
                participant=participants,
            )
        else:
            if isinstance(activity, TaskActivity):
                text = activity.title
            elif isinstance(activity, EducationActivity):
                text = f"Read: {activity.title or activity.article_slug}"
            else:
                text = activity.title
            resource = Task(
                status="requested",
                intent="plan",
                description=text,
                code={"text": activity.kind.replace("_", " ")},
                **{"for": subject},
            )
        url = _urn()
        entries.append((url, resource))
        activities.append({"reference": {"reference": url}})
    care_plan = FhirCarePlan(
        id=str(plan.id),
        status="active",
        intent="plan",
        title=content.title,
        description=content.summary,
        subject=subject,
        created=plan.created_at,
        addresses=addresses or None,
        goal=goal_refs or None,
        activity=activities or None,
        meta={"versionId": str(plan.version), "lastUpdated": plan.updated_at},
    )
    bundle = Bundle(
        type="collection",
        entry=[{"fullUrl": f"urn:uuid:{plan.id}", "resource": care_plan}]
        + [{"fullUrl": url, "resource": resource} for url, resource in entries],
    )
    return bundle.model_dump(mode="json", exclude_none=True)
